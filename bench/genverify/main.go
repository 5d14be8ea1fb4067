// Command genverify generates a synthetic workspace for `cascade verify`
// benchmarks: one upstream Go module with 10 packages (p0..p9), tagged
// v1.0.0, with candidate branches cand1 and cand2 that change p0 only; and
// N downstream Go modules that require it. Even-numbered downstreams import
// p0 (the changed package); odd-numbered ones import only unchanged ones.
//
//	go run ./bench/genverify -n 20 -dir /tmp/vws
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/workspace"
)

var author = gitrepo.Author{Name: "Bench", Email: "bench@cascade.example"}

func main() {
	n := flag.Int("n", 20, "number of downstreams")
	pkgs := flag.Int("pkgs", 3, "packages per downstream (at least 3): a imports the upstream, c imports a, the others stand alone")
	dir := flag.String("dir", "", "directory to create (must not exist)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: genverify -n N -dir DIR")
		os.Exit(2)
	}
	if err := generate(context.Background(), *dir, *n, max(*pkgs, 3)); err != nil {
		fmt.Fprintln(os.Stderr, "genverify:", err)
		os.Exit(1)
	}
}

func write(dir string, files map[string]string) error {
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// pkg is a package with some work for its tests to do.
func pkg(name, body string) string {
	return fmt.Sprintf(`package %s

// Sum adds the first n squares%s.
func Sum(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * i%s
	}
	return s
}
`, name, body, "")
}

func pkgTest(name string) string {
	return fmt.Sprintf(`package %s

import "testing"

func TestSum(t *testing.T) {
	for i := 0; i < 200; i++ {
		if Sum(1000) < 0 {
			t.Fatal("negative")
		}
	}
}
`, name)
}

func generate(ctx context.Context, dir string, n, pkgs int) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s exists; give a new directory", dir)
	}
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	up := filepath.Join(dir, "repos", "up")
	w, err := gitrepo.Init(ctx, up, "main", author)
	if err != nil {
		return err
	}
	files := map[string]string{"go.mod": "module example.com/up\n\ngo 1.22\n"}
	for i := range 10 {
		p := fmt.Sprintf("p%d", i)
		files[p+"/"+p+".go"] = pkg(p, "")
		files[p+"/"+p+"_test.go"] = pkgTest(p)
	}
	if err := write(up, files); err != nil {
		return err
	}
	if _, err := w.CommitAll(ctx, when, "v1"); err != nil {
		return err
	}
	if err := w.Tag(ctx, when, "v1.0.0", "v1.0.0"); err != nil {
		return err
	}
	for k, cand := range []string{"cand1", "cand2"} {
		if err := w.Checkout(ctx, "main", false); err != nil {
			return err
		}
		if err := w.Checkout(ctx, cand, true); err != nil {
			return err
		}
		body := fmt.Sprintf(" (candidate %d)", k+1)
		if err := write(up, map[string]string{"p0/p0.go": pkg("p0", body) + fmt.Sprintf("\n// Version is new in candidate %d.\nconst Version = %d\n", k+1, k+1)}); err != nil {
			return err
		}
		if _, err := w.CommitAll(ctx, when.Add(time.Hour), "change p0"); err != nil {
			return err
		}
	}
	if err := w.Checkout(ctx, "main", false); err != nil {
		return err
	}
	var ws strings.Builder
	ws.WriteString("repos:\n  - path: ./repos/up\n")
	for i := range n {
		name := fmt.Sprintf("d%02d", i)
		imp := "p0"
		if i%2 == 1 {
			imp = fmt.Sprintf("p%d", 1+i%9)
		}
		d := filepath.Join(dir, "repos", name)
		dw, err := gitrepo.Init(ctx, d, "main", author)
		if err != nil {
			return err
		}
		files := map[string]string{
			"go.mod":      fmt.Sprintf("module example.com/%s\n\ngo 1.22\n\nrequire example.com/up v1.0.0\n", name),
			"a/a.go":      fmt.Sprintf("package a\n\nimport up \"example.com/up/%s\"\n\n// Total uses the upstream.\nfunc Total() int { return up.Sum(500) }\n", imp),
			"a/a_test.go": "package a\n\nimport \"testing\"\n\nfunc TestTotal(t *testing.T) {\n\tfor i := 0; i < 500; i++ {\n\t\tif Total() < 0 {\n\t\t\tt.Fatal(\"negative\")\n\t\t}\n\t}\n}\n",
			"b/b.go":      pkg("b", ""),
			"b/b_test.go": pkgTest("b"),
			"c/c.go":      "package c\n\nimport \"example.com/" + name + "/a\"\n\n// Twice doubles a's total.\nfunc Twice() int { return 2 * a.Total() }\n",
			"c/c_test.go": "package c\n\nimport \"testing\"\n\nfunc TestTwice(t *testing.T) {\n\tif Twice() < 0 {\n\t\tt.Fatal(\"negative\")\n\t}\n}\n",
		}
		for k := 3; k < pkgs; k++ {
			name := fmt.Sprintf("b%d", k)
			files[name+"/"+name+".go"] = pkg(name, "")
			files[name+"/"+name+"_test.go"] = pkgTest(name)
		}
		if err := write(d, files); err != nil {
			return err
		}
		if _, err := dw.CommitAll(ctx, when, "init"); err != nil {
			return err
		}
		fmt.Fprintf(&ws, "  - path: ./repos/%s\n", name)
	}
	return workspace.WriteFile(filepath.Join(dir, workspace.FileName), []byte(ws.String()), 0o644)
}
