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
			for _, shortcut := range []bool{true, false} {
				r := compareWith(a, b, shortcut)
				if r.Breaking || len(r.Tightened)+len(r.Loosened) > 0 || shortcut && len(r.Unknown) > 0 {
					t.Errorf("%s (shortcut %v): a schema differs from itself: %+v", name, shortcut, r)
				}
			}
		}
	}
	t.Logf("compared %d schemas with themselves, skipped %d with remote references", compared, skipped)
	if compared < 300 {
		t.Errorf("only %d schemas compared", compared)
	}
}
