package schemadiff

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestUndecidedSaysWhereAndWhy checks that what cannot be decided is
// listed, each with the path of the keyword in the new schema, what
// changed and which way it may go.
func TestUndecidedSaysWhereAndWhy(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		want           []Finding
	}{
		{
			"pattern rewritten",
			`{"type":"string","pattern":"^a+$"}`, `{"type":"string","pattern":"^(a|aa)+$"}`,
			[]Finding{{Path: "/pattern", Message: `pattern changed from "^a+$" to "^(a|aa)+$" (may reject instances the old schema accepted, or accept instances it rejected; no example found)`}},
		},
		{
			"oneOf branch added, overlap not found",
			`{"oneOf":[{"type":"integer","multipleOf":7},{"type":"integer","multipleOf":11}]}`,
			`{"oneOf":[{"type":"integer","multipleOf":7},{"type":"integer","multipleOf":11},{"type":"integer","multipleOf":13,"minimum":1000}]}`,
			[]Finding{
				{Path: "/oneOf/2", Message: "branches 0 and 2 may both match an instance, which oneOf then rejects (may reject instances the old schema accepted; no example found)"},
				{Path: "/oneOf/2", Message: "branches 1 and 2 may both match an instance, which oneOf then rejects (may reject instances the old schema accepted; no example found)"},
			},
		},
		{
			"if widened",
			`{"type":"object","if":{"properties":{"a":{"minimum":5}}},"then":{"required":["b"]}}`,
			`{"type":"object","if":{"properties":{"a":{"minimum":3}}},"then":{"required":["b"]}}`,
			[]Finding{{Path: "/if", Message: "if changed: which instances then and else apply to could not be compared (may accept instances the old schema rejected; no example found)"}},
		},
		{
			"$dynamicRef beside a change",
			`{"$defs":{"x":{"$dynamicAnchor":"x","type":"string"}},"properties":{"a":{"$dynamicRef":"#x"},"b":{"type":"string"}}}`,
			`{"$defs":{"x":{"$dynamicAnchor":"x","type":"string"}},"properties":{"a":{"$dynamicRef":"#x"},"b":{"type":"string","maxLength":3}}}`,
			[]Finding{{Path: "/properties/a/$dynamicRef", Message: "$dynamicRef is resolved while validating, from where the validator came: what it accepts was not compared (may reject instances the old schema accepted, or accept instances it rejected; no example found)"}},
		},
		{
			"unevaluatedProperties with anyOf changed",
			`{"type":"object","anyOf":[{"properties":{"a":{"type":"string"}}},{"required":["b"]}],"unevaluatedProperties":false}`,
			`{"type":"object","anyOf":[{"properties":{"a":{"type":"string","format":"email"}}},{"required":["b"]}],"unevaluatedProperties":false}`,
			[]Finding{{Path: "/unevaluatedProperties", Message: "unevaluatedProperties: which properties count as evaluated changed (properties, patternProperties, additionalProperties, allOf, anyOf, oneOf, if/then/else, $ref, dependentSchemas or the draft) (may accept instances the old schema rejected; no example found)"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, err := Load("old.json", []byte(tc.old))
			if err != nil {
				t.Fatal(err)
			}
			new, err := Load("new.json", []byte(tc.new))
			if err != nil {
				t.Fatal(err)
			}
			r := Compare(old, new)
			if diff := cmp.Diff(tc.want, r.Unknown); diff != "" {
				t.Errorf("unknown mismatch (-want +got):\n%s\nall findings:\n%s", diff, describe(r))
			}
			if !r.Breaking {
				t.Errorf("breaking = false with %d unknown", len(r.Unknown))
			}
		})
	}
}

// TestOneOfOverlapWitness checks the witness of a oneOf overlap: valid
// under the old schema, and matching two branches of the new one.
func TestOneOfOverlapWitness(t *testing.T) {
	for _, tc := range []struct{ name, old, new, path string }{
		{"branch added", `{"oneOf":[{"type":"string","maxLength":5},{"type":"number"}]}`,
			`{"oneOf":[{"type":"string","maxLength":5},{"type":"number"},{"type":"string","minLength":3}]}`, "/oneOf/2"},
		{"branch widened", `{"oneOf":[{"type":"string","maxLength":3},{"type":"string","minLength":5}]}`,
			`{"oneOf":[{"type":"string","maxLength":10},{"type":"string","minLength":5}]}`, "/oneOf/0"},
		{"branch widened behind a $ref", `{"$defs":{"short":{"type":"string","maxLength":3}},"properties":{"v":{"oneOf":[{"$ref":"#/$defs/short"},{"type":"string","minLength":5}]}}}`,
			`{"$defs":{"short":{"type":"string","maxLength":10}},"properties":{"v":{"oneOf":[{"$ref":"#/$defs/short"},{"type":"string","minLength":5}]}}}`, "/properties/v/oneOf/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, err := Load("old.json", []byte(tc.old))
			if err != nil {
				t.Fatal(err)
			}
			new, err := Load("new.json", []byte(tc.new))
			if err != nil {
				t.Fatal(err)
			}
			r := Compare(old, new)
			var found *Finding
			for i, f := range r.Tightened {
				if f.Path == tc.path {
					found = &r.Tightened[i]
				}
			}
			if found == nil {
				t.Fatalf("no tightening at %s:\n%s", tc.path, describe(r))
			}
			w := reparse(t, found.Witness)
			if old.Validate(w) != nil || new.Validate(w) == nil {
				t.Errorf("witness %s is not accepted by old and rejected by new", jsonText(w))
			}
			// The value the oneOf sees: the witness, or its property v.
			v := w
			if m, ok := w.(map[string]any); ok {
				v = m["v"]
			}
			oneOf := new.Compiled.OneOf
			if p := new.Compiled.Properties["v"]; p != nil {
				oneOf = p.OneOf
			}
			matched := 0
			for _, b := range oneOf {
				if b.Validate(v) == nil {
					matched++
				}
			}
			if matched != 2 {
				t.Errorf("witness %s matches %d branches of the new oneOf, want 2", jsonText(w), matched)
			}
		})
	}
}
