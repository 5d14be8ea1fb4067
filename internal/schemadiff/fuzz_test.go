package schemadiff

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
)

var fuzzSeeds = []string{
	`{"type":"object","properties":{"a":{"type":"string","maxLength":3}},"required":["a"]}`,
	`{"type":"array","items":{"type":"integer","minimum":0},"minItems":1,"uniqueItems":true}`,
	`{"oneOf":[{"type":"string","pattern":"^a+$"},{"type":"integer","multipleOf":3}]}`,
	`{"$defs":{"n":{"type":"object","properties":{"v":{"type":"string"},"k":{"type":"array","items":{"$ref":"#/$defs/n"}}}}},"$ref":"#/$defs/n"}`,
	`{"enum":[1,"a",null,[1],{"a":1}]}`,
	`{"if":{"properties":{"a":{"const":1}}},"then":{"required":["b"]},"else":{"not":{"required":["c"]}}}`,
	`{"type":"string","pattern":"^(?=a)\\u0041"}`,
	`{"type":"string","maxLength":1e20,"minLength":100000000}`,
	`{"$schema":"http://json-schema.org/draft-07/schema#","items":[{"type":"string"}],"additionalItems":false,"dependencies":{"a":["b"]}}`,
	`{"patternProperties":{"^x-":{"type":"integer"}},"additionalProperties":false,"propertyNames":{"maxLength":5}}`,
	`true`, `false`, `{}`,
}

// FuzzLoad: any document is compiled or refused with an Invalid error
// naming it; never a panic.
func FuzzLoad(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Load("s.json", data)
		if err != nil && (errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "s.json")) {
			t.Fatalf("error of kind %v without the file name: %v", errkind.Of(err), err)
		}
	})
}

// FuzzCompare: for any two schemas, every witness is accepted and
// rejected as claimed by the validator and is within the size bounds, and
// a comparison that finds nothing tightened and nothing unknown says it
// is not breaking.
func FuzzCompare(f *testing.F) {
	for i, a := range fuzzSeeds {
		f.Add(a, fuzzSeeds[(i+1)%len(fuzzSeeds)])
		f.Add(a, a)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		old, err := Load("old.json", []byte(a))
		if err != nil {
			return
		}
		new, err := Load("new.json", []byte(b))
		if err != nil {
			return
		}
		r, err := CompareContext(context.Background(), old, new, Options{Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		checkWitnesses(t, old, new, r)
		if r.Breaking != (len(r.Tightened) > 0 || len(r.Unknown) > 0) {
			t.Fatalf("breaking=%v with %d tightened, %d unknown", r.Breaking, len(r.Tightened), len(r.Unknown))
		}
		if a == b && (len(r.Tightened) > 0 || len(r.Loosened) > 0) {
			t.Fatalf("a schema differs from itself: %+v", r)
		}
	})
}
