package gomod

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAffected(t *testing.T) {
	list := `{"ImportPath": "ex.com/api/client", "Deps": ["ex.com/db/query", "fmt"], "GoFiles": ["c.go"]}
{"ImportPath": "ex.com/api/jobs", "Deps": ["ex.com/db/store"]}
{"ImportPath": "ex.com/api/jobs [ex.com/api/jobs.test]", "ForTest": "ex.com/api/jobs", "Deps": ["ex.com/db/store", "testing"]}
{"ImportPath": "ex.com/api/jobs_test [ex.com/api/jobs.test]", "ForTest": "ex.com/api/jobs", "Deps": ["ex.com/db/query [ex.com/api/jobs.test]"]}
{"ImportPath": "ex.com/api/jobs.test", "Deps": ["ex.com/api/jobs [ex.com/api/jobs.test]"]}
{"ImportPath": "ex.com/api/web", "Deps": ["net/http"]}
{"ImportPath": "ex.com/db/query", "Deps": []}
`
	test, build, err := Affected([]byte(list), "ex.com/api", map[string]bool{"ex.com/db/query": true})
	if err != nil {
		t.Fatal(err)
	}
	// jobs is affected through its external test package only, and has
	// no code outside its tests to build.
	if diff := cmp.Diff([]string{"ex.com/api/client", "ex.com/api/jobs"}, test); diff != "" {
		t.Errorf("test mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"ex.com/api/client"}, build); diff != "" {
		t.Errorf("build mismatch (-want +got):\n%s", diff)
	}
}
