package gomod

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestChangedPackages(t *testing.T) {
	files := []string{"query/query.go", "query/testdata/x.json", "README.md", "go.sum", "tools/gen/main.go", "tools/go.mod", "doc.go", "a/b/testdata/c/d.txt"}
	pkgs, reqs := ChangedPackages(files, "ex.com/db", ".", []string{".", "tools"})
	want := map[string]bool{"ex.com/db/query": true, "ex.com/db": true, "ex.com/db/a/b": true}
	if diff := cmp.Diff(want, pkgs); diff != "" || !reqs {
		t.Errorf("root module: requirements=%v, mismatch (-want +got):\n%s", reqs, diff)
	}
	pkgs, reqs = ChangedPackages(files, "ex.com/db/tools", "tools", []string{".", "tools"})
	if diff := cmp.Diff(map[string]bool{"ex.com/db/tools/gen": true}, pkgs); diff != "" || !reqs {
		t.Errorf("tools module: requirements=%v, mismatch (-want +got):\n%s", reqs, diff)
	}
}

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

func TestTestReport(t *testing.T) {
	out := `{"Action":"run","Package":"p","Test":"TestA"}
{"Action":"output","Package":"p","Test":"TestA","Output":"--- FAIL: TestA\n"}
{"Action":"fail","Package":"p","Test":"TestA/sub"}
{"Action":"fail","Package":"p","Test":"TestA"}
{"Action":"pass","Package":"p","Test":"TestB"}
{"Action":"fail","Package":"p"}
# q
q/q_test.go:3:1: syntax error
{"Action":"fail","Package":"q"}
{"Action":"output","Package":"r","Output":"ok\n"}
`
	failed, text := TestReport(out)
	if diff := cmp.Diff([]string{"p.TestA/sub", "q"}, failed); diff != "" {
		t.Errorf("failed mismatch (-want +got):\n%s", diff)
	}
	if text != "--- FAIL: TestA\n# q\nq/q_test.go:3:1: syntax error\nok\n" {
		t.Errorf("text = %q", text)
	}
}

func TestTestReportBuildFailure(t *testing.T) {
	out := `{"ImportPath":"ex.com/nt/p","Action":"build-output","Output":"p/p.go:3:12: undefined: undefined\n"}
{"ImportPath":"ex.com/nt/p","Action":"build-fail"}
{"Action":"output","Package":"ex.com/nt/p","Output":"FAIL\tex.com/nt/p [build failed]\n"}
{"Action":"fail","Package":"ex.com/nt/p","FailedBuild":"ex.com/nt/p"}
`
	failed, text, build := TestReportBuild(out)
	if !build || len(failed) != 1 || failed[0] != "ex.com/nt/p" {
		t.Errorf("failed = %v, build = %v", failed, build)
	}
	if text != "# ex.com/nt/p\np/p.go:3:12: undefined: undefined\nFAIL\tex.com/nt/p [build failed]\n" {
		t.Errorf("text = %q", text)
	}
}
