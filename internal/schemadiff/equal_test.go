package schemadiff

import (
	"reflect"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestEveryKeywordIsKnown lists the exported fields of the library's
// compiled schema. A field a new version adds must be handled by eq,
// children, sameEvaluation and the comparison before it joins this list
// (onlyRef already refuses to skip a schema that sets it).
func TestEveryKeywordIsKnown(t *testing.T) {
	known := []string{"DraftVersion", "Location", "Bool", "ID", "Ref", "Anchor", "RecursiveRef", "RecursiveAnchor",
		"DynamicRef", "DynamicAnchor", "Types", "Enum", "Const", "Not", "AllOf", "AnyOf", "OneOf", "If", "Then", "Else",
		"Format", "MaxProperties", "MinProperties", "Required", "PropertyNames", "Properties", "PatternProperties",
		"AdditionalProperties", "Dependencies", "DependentRequired", "DependentSchemas", "UnevaluatedProperties",
		"MinItems", "MaxItems", "UniqueItems", "Contains", "MinContains", "MaxContains", "Items", "AdditionalItems",
		"PrefixItems", "Items2020", "UnevaluatedItems", "MinLength", "MaxLength", "Pattern", "ContentEncoding",
		"ContentMediaType", "ContentSchema", "Maximum", "Minimum", "ExclusiveMaximum", "ExclusiveMinimum", "MultipleOf",
		"Extensions", "Title", "Description", "Default", "Comment", "ReadOnly", "WriteOnly", "Examples", "Deprecated"}
	var got []string
	typ := reflect.TypeOf(jsonschema.Schema{})
	for i := 0; i < typ.NumField(); i++ {
		if f := typ.Field(i); f.IsExported() {
			got = append(got, f.Name)
		}
	}
	if diff := cmp.Diff(known, got); diff != "" {
		t.Errorf("compiled schema fields mismatch (-want +got):\n%s", diff)
	}
}

// TestEq checks that subschemas are equal only when nothing that
// validates differs.
func TestEq(t *testing.T) {
	for _, tc := range []struct {
		name, a, b string
		want       bool
	}{
		{"annotations only", `{"type":"string","title":"a","description":"b","examples":["x"]}`, `{"type":"string","default":"y"}`, true},
		{"same target behind different refs", `{"$defs":{"a":{"type":"string"}},"$ref":"#/$defs/a"}`, `{"$defs":{"b":{"type":"string"}},"$ref":"#/$defs/b"}`, true},
		{"ref target differs", `{"$defs":{"a":{"type":"string"}},"properties":{"p":{"$ref":"#/$defs/a"}}}`, `{"$defs":{"a":{"type":"number"}},"properties":{"p":{"$ref":"#/$defs/a"}}}`, false},
		{"recursion", `{"$defs":{"n":{"properties":{"next":{"$ref":"#/$defs/n"}}}},"$ref":"#/$defs/n"}`, `{"$defs":{"m":{"properties":{"next":{"$ref":"#/$defs/m"}}}},"$ref":"#/$defs/m"}`, true},
		{"required order", `{"required":["a","b"]}`, `{"required":["b","a"]}`, true},
		{"draft differs", `{"$schema":"http://json-schema.org/draft-07/schema#","type":"string"}`, `{"type":"string"}`, false},
		{"dependentRequired", `{"dependentRequired":{"a":["b"]}}`, `{"dependentRequired":{"a":["c"]}}`, false},
		{"patternProperties", `{"patternProperties":{"^a":{"type":"string"}}}`, `{"patternProperties":{"^a":{"type":"number"}}}`, false},
		{"pattern", `{"pattern":"^a"}`, `{"pattern":"^b"}`, false},
		{"multipleOf", `{"multipleOf":2}`, `{"multipleOf":4}`, false},
		{"unevaluatedProperties", `{"unevaluatedProperties":false}`, `{"unevaluatedProperties":true}`, false},
		{"contains", `{"contains":{"type":"string"},"minContains":2}`, `{"contains":{"type":"string"},"minContains":3}`, false},
		{"items", `{"items":{"type":"string"}}`, `{"prefixItems":[{"type":"string"}]}`, false},
		{"format", `{"format":"date"}`, `{"format":"email"}`, false},
		{"dynamicRef never equal", `{"$defs":{"x":{"$dynamicAnchor":"x"}},"$dynamicRef":"#x"}`, `{"$defs":{"x":{"$dynamicAnchor":"x"}},"$dynamicRef":"#x"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := Load("a.json", []byte(tc.a))
			if err != nil {
				t.Fatal(err)
			}
			b, err := Load("b.json", []byte(tc.b))
			if err != nil {
				t.Fatal(err)
			}
			if got := newDiffer(a, b, allShortcuts).eq(a.Compiled, b.Compiled); got != tc.want {
				t.Errorf("eq = %v, want %v", got, tc.want)
			}
		})
	}
}
