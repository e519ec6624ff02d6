// Command validate-argo checks Argo Workflows manifests with Argo's own validation package, the one the
// workflow controller and `argo lint --offline` use.
//
//	validate-argo FILE... ('-' reads stdin)
//
// It prints one JSON verdict per document and exits 0 when all pass, 1 when any fails, 2 when an input
// cannot be read or holds a kind it does not validate.
package main

import (
	"os"

	"github.com/kfp-driver/hack/validators/manifest"
)

func main() {
	os.Exit(manifest.Main("validate-argo", supportedKinds, validateAll, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
