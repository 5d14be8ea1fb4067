package catalog

import (
	"errors"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/yamlfile"
)

// FuzzParse: any catalog-info.yaml is read or refused with a *ParseError
// (or a duplicate key error) naming the file; every reference read has a
// line.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: clever-api\nspec:\n  dependsOn: [component:clever-db, resource:default/db]\n",
		"kind: Component\nmetadata:\n  name: a\n---\nkind: API\nmetadata:\n  name: b\nspec:\n  dependsOn: x\n",
		"spec:\n  dependsOn: [[a]]\n", "a: &a [*a, *a]\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := Parse("a/catalog-info.yaml", data)
		if err != nil {
			var pe *ParseError
			var dup *yamlfile.DuplicateKeyError
			if !errors.As(err, &pe) && !errors.As(err, &dup) || !strings.HasPrefix(err.Error(), "a/catalog-info.yaml") {
				t.Fatalf("error without the file: %v", err)
			}
			return
		}
		for _, e := range es {
			for _, r := range e.DependsOn {
				if r.Line <= 0 {
					t.Fatalf("reference without a line: %+v", r)
				}
			}
		}
	})
}

// FuzzParseRef: kind:namespace/name splits into parts that hold no ':' in
// the kind and no '/' in the namespace.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{"component:clever-db", "resource:default/db", "db", ":/", "a:b:c/d/e"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r := ParseRef(s)
		if strings.Contains(r.Kind, ":") || strings.Contains(r.Namespace, "/") {
			t.Fatalf("ParseRef(%q) = %+v", s, r)
		}
	})
}
