package harness

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/tektoncd/pipeline/pkg/entrypoint"
	"github.com/tektoncd/pipeline/pkg/termination"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// entrypointFlags are the flags Tekton's entrypoint wrapper takes (cmd/entrypoint), parsed from the
// step container's args to recover the original command and how to report it.
type entrypointFlags struct {
	entrypoint, waitFiles, postFile, results, stepResults, when, onError, metadataDir, resultFrom string
	waitContent, compress                                                                         bool
	timeout                                                                                       time.Duration
	command                                                                                       []string
}

func parseEntrypoint(args []string) (*entrypointFlags, error) {
	f := &entrypointFlags{}
	set := flag.NewFlagSet("entrypoint", flag.ContinueOnError)
	set.SetOutput(io.Discard)
	set.StringVar(&f.entrypoint, "entrypoint", "", "")
	set.StringVar(&f.waitFiles, "wait_file", "", "")
	set.BoolVar(&f.waitContent, "wait_file_content", false, "")
	set.StringVar(&f.postFile, "post_file", "", "")
	set.String("termination_path", "", "")
	set.StringVar(&f.results, "results", "", "")
	set.StringVar(&f.stepResults, "step_results", "", "")
	set.StringVar(&f.when, "when_expressions", "", "")
	set.DurationVar(&f.timeout, "timeout", 0, "")
	set.String("stdout_path", "", "")
	set.String("stderr_path", "", "")
	set.Bool("breakpoint_on_failure", false, "")
	set.Bool("debug_before_step", false, "")
	set.StringVar(&f.onError, "on_error", "", "")
	set.StringVar(&f.metadataDir, "step_metadata_dir", "", "")
	set.StringVar(&f.resultFrom, "result_from", entrypoint.ResultExtractionMethodTerminationMessage, "")
	set.BoolVar(&f.compress, "compress_termination_message", false, "")
	set.Bool("enable_spire", false, "")
	if err := set.Parse(args); err != nil {
		return nil, fmt.Errorf("entrypoint flags: %w", err)
	}
	if f.entrypoint == "" {
		return nil, errors.New("the step names no command (an image's own entrypoint is not available locally)")
	}
	f.command = append([]string{f.entrypoint}, set.Args()...)
	return f, nil
}

// runStep runs one step container the way Tekton's entrypoint binary does, using Tekton's own
// Entrypointer (results read from the results directory into the termination message, with its
// size limit) around a local process.
func (fs *podFS) runStep(c corev1.Container, launcher []string, taskRun string) *corev1.ContainerStateTerminated {
	started := metav1.Now()
	dir := filepath.Join(fs.dir, "containers", c.Name)
	termPath := filepath.Join(dir, "termination")
	terminated := func(code int32, message string) *corev1.ContainerStateTerminated {
		reason := "Completed"
		if code != 0 {
			reason = "Error"
		}
		return &corev1.ContainerStateTerminated{ExitCode: code, Reason: reason, Message: message,
			StartedAt: started, FinishedAt: metav1.Now()}
	}
	// A container that cannot start writes no termination message; the reason goes to the log.
	failed := func(err error) *corev1.ContainerStateTerminated {
		fmt.Fprintf(os.Stderr, "pod %s, container %s: %v\n", fs.pod.Name, c.Name, err)
		return terminated(1, "")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return failed(err)
	}
	if !strings.HasPrefix(c.Name, "step-") {
		fmt.Fprintf(os.Stderr, "pod %s: sidecar %s is not run locally\n", fs.pod.Name, c.Name)
		return &corev1.ContainerStateTerminated{Reason: "NotRunLocally", StartedAt: started, FinishedAt: metav1.Now()}
	}
	if len(c.Command) != 1 || filepath.Base(c.Command[0]) != "entrypoint" {
		return failed(errors.New("a step without Tekton's entrypoint wrapper"))
	}
	mounts := fs.mounts(c)
	env, declared, err := fs.env(c, mounts)
	if err != nil {
		return failed(err)
	}
	flags, err := parseEntrypoint(expandArgs(c.Args, declared))
	if err != nil {
		return failed(err)
	}
	if err := fs.mapScript(flags.command[0], mounts); err != nil {
		return failed(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return failed(err)
	}
	defer logFile.Close()
	prefix := fmt.Sprintf("[%s/%s] ", taskRun, strings.TrimPrefix(c.Name, "step-"))
	e := entrypoint.Entrypointer{
		Command:                    fs.argv(flags.command, mounts, launcher),
		WaitFiles:                  mapAll(strings.Split(flags.waitFiles, ","), mounts),
		WaitFileContent:            flags.waitContent,
		PostFile:                   mapText(flags.postFile, mounts),
		TerminationPath:            termPath,
		Waiter:                     localWaiter{mounts: mounts},
		Runner:                     &localRunner{stop: fs.ctx, env: env, dir: fs.workingDir(c, mounts), log: logFile, prefix: prefix},
		PostWriter:                 localPostWriter{},
		Results:                    strings.Split(flags.results, ","),
		StepResults:                strings.Split(flags.stepResults, ","),
		OnError:                    flags.onError,
		StepMetadataDir:            mapText(flags.metadataDir, mounts),
		ResultsDirectory:           mapText("/tekton/results", mounts),
		ArtifactsDirectory:         mapText("/tekton/artifacts", mounts),
		ResultExtractionMethod:     flags.resultFrom,
		CompressTerminationMessage: flags.compress,
	}
	if flags.timeout != 0 {
		e.Timeout = &flags.timeout
	}
	if flags.when != "" {
		if err := json.Unmarshal([]byte(flags.when), &e.StepWhenExpressions); err != nil {
			return failed(err)
		}
	}
	code := exitCode(e.Go(), flags.onError, logFile)
	message, _ := os.ReadFile(termPath)
	return terminated(code, string(message))
}

// exitCode is what Tekton's entrypoint binary exits with for the error Entrypointer.Go returned.
func exitCode(err error, onError string, log io.Writer) int32 {
	if err == nil {
		return 0
	}
	fmt.Fprintln(log, "entrypoint:", err)
	var exit *exec.ExitError
	var tooLong termination.MessageLengthError
	switch {
	case errors.As(err, &tooLong):
		return 1
	case entrypoint.IsContextCanceledError(err):
		return int32(syscall.SIGKILL)
	case errors.As(err, &exit):
		if onError == entrypoint.ContinueOnError {
			return 0
		}
		return int32(exit.ExitCode())
	}
	return 1
}

func mapAll(paths []string, mounts []mount) []string {
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = mapText(p, mounts)
	}
	return out
}

// localWaiter waits for a previous step's post file; steps of a pod run in order here, so the file
// is there already. The cancel file (/tekton/downward/cancel) is never written: cancellation is
// not simulated, so that wait lasts until the step ends.
type localWaiter struct{ mounts []mount }

func (w localWaiter) Wait(ctx context.Context, file string, expectContent bool, breakpointOnFailure bool) error {
	if file == "" {
		return nil
	}
	if file == entrypoint.DownwardMountCancelFile {
		<-ctx.Done()
		return entrypoint.ErrContextCanceled
	}
	for {
		if info, err := os.Stat(file); err == nil && (!expectContent || info.Size() > 0) {
			return nil
		}
		if _, err := os.Stat(file + ".err"); err == nil {
			return entrypoint.ErrSkipPreviousStepFailed
		}
		select {
		case <-ctx.Done():
			return entrypoint.ErrContextCanceled
		case <-time.After(20 * time.Millisecond):
		}
	}
}

type localPostWriter struct{}

func (localPostWriter) Write(file, content string) {
	if file != "" {
		_ = writeFile(file, []byte(content))
	}
}

// localRunner runs the step's command as a local process in its own process group, killed when the
// harness stops; its output goes to the container's log file and, line by line with a prefix, to stderr.
type localRunner struct {
	stop   context.Context
	env    []string
	dir    string
	log    io.Writer
	prefix string
}

func (r *localRunner) Run(ctx context.Context, args ...string) error {
	if len(args) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(r.stop, cancel)()
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env, cmd.Dir = r.env, r.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	out := &prefixWriter{prefix: r.prefix, log: r.log}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	out.flush()
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return entrypoint.ErrContextDeadlineExceeded
	}
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return entrypoint.ErrContextCanceled
	}
	return err
}

type prefixWriter struct {
	mu      sync.Mutex
	prefix  string
	log     io.Writer
	pending []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, err := w.log.Write(p); err != nil {
		return 0, err
	}
	w.pending = append(w.pending, p...)
	for {
		i := strings.IndexByte(string(w.pending), '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(os.Stderr, "%s%s\n", w.prefix, w.pending[:i])
		w.pending = w.pending[i+1:]
	}
	return len(p), nil
}

func (w *prefixWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		fmt.Fprintf(os.Stderr, "%s%s\n", w.prefix, w.pending)
		w.pending = nil
	}
}

// mapScript rewrites mount paths inside a step's script (Tekton runs a "script:" step as a file it
// placed under /tekton/scripts), as it does in command lines.
func (fs *podFS) mapScript(command string, mounts []mount) error {
	scripts, ok := fs.volumes["tekton-internal-scripts"]
	local := mapText(command, mounts)
	if !ok || !strings.HasPrefix(local, scripts+"/") {
		return nil
	}
	text, err := os.ReadFile(local)
	if err != nil {
		return err
	}
	return os.WriteFile(local, []byte(mapText(string(text), mounts)), 0o755)
}
