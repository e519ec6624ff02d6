// Command validate-tekton checks Tekton manifests as Tekton does: the admission webhook's SetDefaults and
// Validate, then the checks the PipelineRun reconciler makes before it starts a run (DAG, parameters).
//
//	validate-tekton FILE... ('-' reads stdin)
//
// It prints one JSON verdict per document and exits 0 when all pass, 1 when any fails, 2 when an input
// cannot be read or holds a kind it does not validate.
package main

import (
	"os"

	"github.com/kfp-driver/hack/validators/manifest"
)

func main() {
	os.Exit(manifest.Main("validate-tekton", supportedKinds, validateAll, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
