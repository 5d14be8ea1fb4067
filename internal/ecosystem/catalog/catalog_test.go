package catalog

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRef(t *testing.T) {
	for in, want := range map[string]Ref{
		"component:clever-db":         {Raw: "component:clever-db", Kind: "component", Name: "clever-db"},
		"Component:default/clever-db": {Raw: "Component:default/clever-db", Kind: "component", Namespace: "default", Name: "clever-db"},
		"clever-db":                   {Raw: "clever-db", Name: "clever-db"},
	} {
		if diff := cmp.Diff(want, ParseRef(in)); diff != "" {
			t.Errorf("ParseRef(%q) mismatch (-want +got):\n%s", in, diff)
		}
	}
}

func TestParse(t *testing.T) {
	ents, err := Parse("catalog-info.yaml", []byte(`apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: clever-api
spec:
  dependsOn:
    - component:clever-db
    - resource:default/students-db
---
kind: API
metadata:
  name: students-api
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entity{
		{Kind: "Component", Name: "clever-api", DependsOn: []Ref{
			{Raw: "component:clever-db", Kind: "component", Name: "clever-db", Line: 7},
			{Raw: "resource:default/students-db", Kind: "resource", Namespace: "default", Name: "students-db", Line: 8},
		}},
		{Kind: "API", Name: "students-api"},
	}
	if diff := cmp.Diff(want, ents); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	for data, want := range map[string]string{
		"kind: [\n":                           "catalog-info.yaml:1: did not find expected node content",
		"spec:\n  dependsOn: component:x\n":   "catalog-info.yaml:2: spec.dependsOn must be a list of entity references",
		"spec:\n  dependsOn:\n    - {a: b}\n": "catalog-info.yaml:3: spec.dependsOn entries must be entity references such as component:clever-db",
	} {
		if _, err := Parse("catalog-info.yaml", []byte(data)); err == nil || err.Error() != want {
			t.Errorf("Parse(%q) = %v, want %q", data, err, want)
		}
	}
}

// TestParseDuplicateKeys: a key given twice, anywhere in any document of
// a catalog file, is an error naming both lines.
func TestParseDuplicateKeys(t *testing.T) {
	data := "kind: Component\nmetadata: {name: a}\n---\nkind: Component\nmetadata: {name: b}\nspec:\n  dependsOn: [component:a]\n  dependsOn: [component:c]\n"
	_, err := Parse("catalog-info.yaml", []byte(data))
	if err == nil || !strings.Contains(err.Error(), `catalog-info.yaml:8:3: duplicate key "dependsOn" (first at catalog-info.yaml:7)`) {
		t.Errorf("Parse = %v; want the duplicate named", err)
	}
}
