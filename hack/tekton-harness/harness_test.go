package harness

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// The harness is built as this package's test binary (hack/gobuild.py --test), because Tekton's
// seeding helpers (test.SeedTestData) take a *testing.T. Run it with -test.run=TestHarness and:
var (
	manifest    = flag.String("manifest", "", "PipelineRun manifest (YAML or JSON)")
	workdir     = flag.String("workdir", "", "directory for pods, claims, logs and the result")
	launcher    = flag.String("launcher", "", "command replacing /kfp/.../kfp-launcher, as a JSON list or shell-free words")
	seed        = flag.String("seed", "", "YAML/JSON Secrets and ConfigMaps the pods may read")
	parallelism = flag.Int("parallelism", runtime.NumCPU(), "pods run at once")
	timeout     = flag.Duration("timeout", 30*time.Minute, "give up after this long")
	out         = flag.String("out", "", "result document (default: WORKDIR/harness.json)")
)

func TestHarness(t *testing.T) {
	if *manifest == "" || *workdir == "" {
		t.Skip("no -manifest/-workdir: nothing to run")
	}
	cfg := Config{Manifest: *manifest, Workdir: *workdir, Seed: *seed, Parallelism: *parallelism,
		Timeout: *timeout, Out: *out, Launcher: strings.Fields(*launcher)}
	if strings.HasPrefix(*launcher, "[") {
		words, err := parseJSONList(*launcher)
		if err != nil {
			fail(t, fmt.Errorf("-launcher: %w", err))
		}
		cfg.Launcher = words
	}
	if cfg.Out == "" {
		cfg.Out = *workdir + "/harness.json"
	}
	if err := Run(t, cfg); err != nil {
		fail(t, err)
	}
}

// fail prints the one line the callers show ("tekton-harness: ...") and fails the run.
func fail(t *testing.T, err error) {
	fmt.Fprintln(os.Stderr, "tekton-harness:", strings.ReplaceAll(err.Error(), "\n", " "))
	t.FailNow()
}
