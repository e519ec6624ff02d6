package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// verdict is the one JSON line printed per document.
type verdict struct {
	File   string   `json:"file"`
	Index  int      `json:"index"`
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	OK     bool     `json:"ok"`
	Errors []string `json:"errors"`
}

func newVerdict(doc document, problems []string) verdict {
	if problems == nil {
		problems = []string{}
	}
	return verdict{File: doc.File, Index: doc.Index, Kind: doc.Kind, Name: doc.Name, OK: len(problems) == 0, Errors: problems}
}

func (v verdict) write(out io.Writer) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", line)
	return err
}

// lines splits an engine's (possibly multi-line) error into one entry per non-empty line.
func lines(err error) []string {
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
