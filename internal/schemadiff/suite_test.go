package schemadiff

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// suiteDir is the official JSON-Schema-Test-Suite, shared beside the project.
func suiteDir(t *testing.T) string {
	for _, d := range []string{os.Getenv("JSON_SCHEMA_TEST_SUITE"), "../../../shared/testdata/JSON-Schema-Test-Suite"} {
		if d == "" {
			continue
		}
		if _, err := os.Stat(filepath.Join(d, "tests")); err == nil {
			return d
		}
	}
	if os.Getenv("JSON_SCHEMA_TEST_SUITE") != "" {
		t.Fatalf("JSON_SCHEMA_TEST_SUITE=%s holds no tests/", os.Getenv("JSON_SCHEMA_TEST_SUITE"))
	}
	t.Skip("the JSON-Schema-Test-Suite is not available (set JSON_SCHEMA_TEST_SUITE to its directory)")
	return ""
}

// TestSuiteSchemasEqualThemselves compares every schema of the official
// suite (draft 2020-12) with itself, each side compiled on its own: no
// difference may be reported.
func TestSuiteSchemasEqualThemselves(t *testing.T) {
	dir := filepath.Join(suiteDir(t), "tests", "draft2020-12")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	compared, skipped := 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var groups []struct {
			Description string          `json:"description"`
			Schema      json.RawMessage `json:"schema"`
		}
		if err := json.Unmarshal(data, &groups); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, g := range groups {
			name := filepath.Base(f) + ": " + g.Description
			a, err := Load(name, g.Schema)
			if err != nil {
				// Schemas that reference remote documents cannot be compiled
				// offline; they are the only ones skipped.
				if strings.Contains(err.Error(), "cannot load") {
					skipped++
					continue
				}
				t.Errorf("%s: %v", name, err)
				continue
			}
			b, _ := Load(name, g.Schema)
			compared++
			// Equal subschemas are recognised as equal, except where a
			// $dynamicRef or $recursiveRef makes the result depend on the
			// path taken; and without any shortcut, the analysis itself
			// finds no witness of a difference.
			dynamic := !newDiffer(a, b, allShortcuts).standalone(a.Compiled)
			for _, sc := range []shortcuts{allShortcuts, subschemaShortcuts, noShortcuts} {
				r := compareWith(a, b, sc)
				if len(r.Tightened)+len(r.Loosened) > 0 || sc != noShortcuts && !dynamic && (r.Breaking || len(r.Unknown) > 0) {
					t.Errorf("%s (shortcuts %d): a schema differs from itself: %+v", name, sc, r)
				}
			}
		}
	}
	t.Logf("compared %d schemas with themselves, skipped %d with remote references", compared, skipped)
	if compared < 300 {
		t.Errorf("only %d schemas compared", compared)
	}
}

// TestSuitePairsAreSound compares every two schemas of the same file of
// the official suite (draft 2020-12), in both orders, and holds the
// result against the suite's own instances: an instance the old schema
// accepts and the new rejects must come with a tightening or an unknown,
// the reverse with a loosening or an unknown, and every witness must show
// what it claims.
func TestSuitePairsAreSound(t *testing.T) {
	if testing.Short() {
		t.Skip("compares thousands of pairs")
	}
	dir := filepath.Join(suiteDir(t), "tests", "draft2020-12")
	files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	pairs := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var groups []struct {
			Description string          `json:"description"`
			Schema      json.RawMessage `json:"schema"`
			Tests       []struct {
				Data json.RawMessage `json:"data"`
			} `json:"tests"`
		}
		if err := json.Unmarshal(data, &groups); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		type group struct {
			name      string
			schema    *Schema
			instances []any
		}
		var gs []group
		for _, g := range groups {
			s, err := Load(g.Description, g.Schema)
			if err != nil {
				continue // remote references, skipped as above
			}
			gr := group{name: filepath.Base(f) + ": " + g.Description, schema: s}
			for _, tc := range g.Tests {
				gr.instances = append(gr.instances, reparse(t, json.RawMessage(tc.Data)))
			}
			gs = append(gs, gr)
		}
		for _, a := range gs {
			for _, b := range gs {
				if a.name == b.name {
					continue
				}
				pairs++
				r := Compare(a.schema, b.schema)
				for _, fd := range r.Tightened {
					if w := reparse(t, fd.Witness); a.schema.Validate(w) != nil || b.schema.Validate(w) == nil {
						t.Errorf("%s -> %s: tightened witness %s at %s does not show it", a.name, b.name, jsonText(w), fd.Path)
					}
				}
				for _, fd := range r.Loosened {
					if w := reparse(t, fd.Witness); b.schema.Validate(w) != nil || a.schema.Validate(w) == nil {
						t.Errorf("%s -> %s: loosened witness %s at %s does not show it", a.name, b.name, jsonText(w), fd.Path)
					}
				}
				for _, v := range append(append([]any{}, a.instances...), b.instances...) {
					va, vb := a.schema.Validate(v) == nil, b.schema.Validate(v) == nil
					if va && !vb && len(r.Tightened)+len(r.Unknown) == 0 {
						t.Errorf("%s -> %s: %s is rejected now, but nothing is tightened or unknown", a.name, b.name, jsonText(v))
					}
					if vb && !va && len(r.Loosened)+len(r.Unknown) == 0 {
						t.Errorf("%s -> %s: %s is accepted now, but nothing is loosened or unknown", a.name, b.name, jsonText(v))
					}
				}
			}
		}
	}
	if pairs < 5000 {
		t.Errorf("only %d pairs compared", pairs)
	}
}
