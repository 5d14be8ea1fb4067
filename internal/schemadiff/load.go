// Package schemadiff compares two JSON Schemas: what the new one rejects
// that the old one accepted (tightened: a breaking change for the API's
// clients) and what it accepts that the old one rejected (loosened). Each
// finding carries a witness, a concrete JSON instance that shows the
// difference, and every witness is checked with the real validator against
// both schemas before it is reported. What cannot be decided is reported
// as unknown, never as compatible.
package schemadiff

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// Schema is a compiled schema with its source.
type Schema struct {
	Name     string
	Compiled *jsonschema.Schema
	Doc      any
}

// Validate reports whether instance is valid.
func (s *Schema) Validate(instance any) error { return s.Compiled.Validate(instance) }

// Load compiles the schema document data; name names it in errors (a file
// path or REPO@REF:path). Invalid JSON and invalid schemas are Invalid
// errors with the position and reason.
func Load(name string, data []byte) (*Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, max(se.Offset-1, 0))
			return nil, errkind.New(errkind.Invalid, "%s:%d:%d: invalid JSON: %v", name, line, col, se)
		}
		return nil, errkind.New(errkind.Invalid, "%s: invalid JSON: %v", name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// An API's formats are assertions: a client sending a malformed date
	// gets an error.
	c.AssertFormat()
	url := "file:///" + strings.TrimLeft(strings.NewReplacer(" ", "%20", "#", "%23", "?", "%3F").Replace(name), "/")
	if err := c.AddResource(url, doc); err != nil {
		return nil, errkind.New(errkind.Invalid, "%s: %v", name, err)
	}
	// Remote references cannot be fetched: compare self-contained schemas.
	c.UseLoader(noLoader{})
	sch, err := c.Compile(url)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), url, name)
		return nil, errkind.New(errkind.Invalid, "%s: invalid schema: %s", name, msg)
	}
	return &Schema{Name: name, Compiled: sch, Doc: doc}, nil
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("cannot load %s: schema-diff compares self-contained schemas (local $ref and $defs)", url)
}

func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
