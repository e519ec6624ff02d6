package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"sigs.k8s.io/yaml"
)

// Document is one Kubernetes object of an input file.
type Document struct {
	File       string
	Index      int // the document's position in the file, from 0, empty ones included (a v1 List's items share it)
	APIVersion string
	Kind       string
	Name       string // metadata.name, else metadata.generateName
	Raw        []byte // the object as JSON
}

type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name         string `json:"name"`
		GenerateName string `json:"generateName"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

// ReadDocuments reads every object of path ("-" is stdin): multi-document YAML, or JSON.
func ReadDocuments(path string, stdin io.Reader) ([]Document, error) {
	in := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		in = f
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	raws, err := splitDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var docs []Document
	for index, raw := range raws {
		if trimmed := bytes.TrimSpace(raw); len(trimmed) == 0 || string(trimmed) == "null" {
			continue
		}
		objects, err := expandList(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: Document %d: %w", path, index, err)
		}
		for _, object := range objects {
			docs = append(docs, Document{File: path, Index: index, APIVersion: object.apiVersion, Kind: object.kind, Name: object.name, Raw: object.raw})
		}
	}
	return docs, nil
}

// splitDocuments returns every document of a YAML stream as JSON, read as kubectl reads it (YAML 1.1:
// an unquoted y or no is a boolean), numbered as YAML numbers them: a '---' line starts a document, even
// an empty one (null here); text before the first '---' is one only if it holds more than comments.
// Concatenated JSON values are documents too.
func splitDocuments(data []byte) ([]json.RawMessage, error) {
	if docs, err := splitJSON(data); err == nil {
		return docs, nil
	}
	var chunks [][]byte
	var current []byte
	explicit := false
	for _, line := range bytes.SplitAfter(data, []byte("\n")) {
		if rest, ok := bytes.CutPrefix(line, []byte("---")); ok {
			if rest = bytes.TrimSpace(rest); len(rest) == 0 || rest[0] == '#' {
				if explicit || hasContent(current) {
					chunks = append(chunks, current)
				}
				current, explicit = nil, true
				continue
			}
		}
		current = append(current, line...)
	}
	if explicit || hasContent(current) {
		chunks = append(chunks, current)
	}
	docs := make([]json.RawMessage, len(chunks))
	for i, chunk := range chunks {
		raw, err := yaml.YAMLToJSON(chunk)
		if err != nil {
			return nil, fmt.Errorf("Document %d: %w", i, err)
		}
		docs[i] = raw
	}
	return docs, nil
}

// splitJSON reads one or more concatenated JSON values; it fails on anything else (YAML, say).
func splitJSON(data []byte) ([]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || (trimmed[0] != '{' && trimmed[0] != '[') {
		return nil, errors.New("not JSON")
	}
	var docs []json.RawMessage
	decoder := json.NewDecoder(bytes.NewReader(trimmed))
	for decoder.More() {
		var raw json.RawMessage
		if err := decoder.Decode(&raw); err != nil {
			return nil, err
		}
		docs = append(docs, raw)
	}
	return docs, nil
}

// hasContent reports whether YAML text holds more than blank lines and comments.
func hasContent(text []byte) bool {
	for _, line := range bytes.Split(text, []byte("\n")) {
		if line = bytes.TrimSpace(line); len(line) > 0 && line[0] != '#' {
			return true
		}
	}
	return false
}

type object struct {
	apiVersion, kind, name string
	raw                    []byte
}

// expandList returns the document itself, or the items of a v1 List.
func expandList(raw []byte) ([]object, error) {
	var h header
	if err := json.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("not a Kubernetes object: %w", err)
	}
	if h.APIVersion == "v1" && h.Kind == "List" {
		var objects []object
		for i, item := range h.Items {
			inner, err := expandList(item)
			if err != nil {
				return nil, fmt.Errorf("items[%d]: %w", i, err)
			}
			objects = append(objects, inner...)
		}
		return objects, nil
	}
	name := h.Metadata.Name
	if name == "" {
		name = h.Metadata.GenerateName
	}
	return []object{{apiVersion: h.APIVersion, kind: h.Kind, name: name, raw: raw}}, nil
}

// DecodeStrict decodes raw into out, refusing fields out does not have (as `argo lint` and the admission webhooks do).
func DecodeStrict(raw []byte, out any) error {
	decoder := json.NewDecoder(bytes.NewReader(raw))
	decoder.DisallowUnknownFields()
	return decoder.Decode(out)
}
