// Package manifest is what both engine validators share: reading Kubernetes documents the way kubectl
// does, one JSON verdict line per document, and the command's exit codes.
package manifest

import (
	"fmt"
	"io"
	"strings"
)

// Main runs a validator command: reads every FILE (or stdin), refuses kinds outside supportedKinds (exit 2),
// prints the verdicts of validateAll as JSON lines, and returns the exit code (0 all pass, 1 any fails).
func Main(program string, supportedKinds []string, validateAll func([]Document) []Verdict, args []string,
	stdin io.Reader, stdout, stderr io.Writer) int {
	supported := func(kind string) bool {
		for _, k := range supportedKinds {
			if k == kind {
				return true
			}
		}
		return false
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintf(stderr, "usage: %s FILE... ('-' reads stdin); validates %s\n", program, strings.Join(supportedKinds, ", "))
		return 2
	}
	var docs []Document
	bad := false
	for _, path := range args {
		found, err := ReadDocuments(path, stdin)
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
