// Command validate-argo checks Argo Workflows manifests with Argo's own validation package, the one the
// workflow controller and `argo lint --offline` use.
//
//	validate-argo FILE... ('-' reads stdin)
//
// It prints one JSON verdict per document and exits 0 when all pass, 1 when any fails, 2 when an input
// cannot be read or holds a kind it does not validate.
package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

const program = "validate-argo"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(stderr, "usage: %s FILE... ('-' reads stdin); validates %s\n", program, strings.Join(supportedKinds, ", "))
		return 2
	}
	var docs []document
	bad := false
	for _, path := range args {
		found, err := readDocuments(path, stdin)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", program, err)
			bad = true
			continue
		}
		for _, doc := range found {
			if !supported(doc.Kind) {
				fmt.Fprintf(stderr, "%s: %s: document %d: kind %q is not validated here (only %s)\n",
					program, doc.File, doc.Index, doc.Kind, strings.Join(supportedKinds, ", "))
				bad = true
			}
		}
		docs = append(docs, found...)
	}
	if bad {
		return 2
	}
	failed := false
	for _, v := range validateAll(docs) {
		if err := v.write(stdout); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", program, err)
			return 2
		}
		failed = failed || !v.OK
	}
	if failed {
		return 1
	}
	return 0
}

func supported(kind string) bool {
	for _, k := range supportedKinds {
		if k == kind {
			return true
		}
	}
	return false
}
