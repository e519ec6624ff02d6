package manifest

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Verdict is the one JSON line printed per document.
type Verdict struct {
	File   string   `json:"file"`
	Index  int      `json:"index"`
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	OK     bool     `json:"ok"`
	Errors []string `json:"errors"`
}

func NewVerdict(doc Document, problems []string) Verdict {
	if problems == nil {
		problems = []string{}
	}
	return Verdict{File: doc.File, Index: doc.Index, Kind: doc.Kind, Name: doc.Name, OK: len(problems) == 0, Errors: problems}
}

func (v Verdict) write(out io.Writer) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", line)
	return err
}

// Lines splits an engine's (possibly multi-line) error into one entry per non-empty line.
func Lines(err error) []string {
	if err == nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}
