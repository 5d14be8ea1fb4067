// Command gensemver generates a benchmark module for `cascade semver`: a
// git repository holding one Go module of N packages (default 50), tagged
// v1.0.0, whose head commit changes a tenth of the packages (an added
// function, a changed signature, an added method). It also writes a module
// proxy directory serving v1.0.0, so that tools that fetch the base release
// from a proxy (gorelease) can run offline.
//
//	go run ./bench/gensemver -n 50 -dir /tmp/sws
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"

	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/workspace"
)

const mod = "example.com/big"

func main() {
	n := flag.Int("n", 50, "number of packages")
	dir := flag.String("dir", "", "directory to create (must not exist)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: gensemver -n N -dir DIR")
		os.Exit(2)
	}
	if err := generate(context.Background(), *dir, *n); err != nil {
		fmt.Fprintln(os.Stderr, "gensemver:", err)
		os.Exit(1)
	}
}

func pkgSource(name string, i int, head bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "// Package %s is generated.\npackage %s\n\nimport \"strings\"\n\n", name, name)
	fmt.Fprintf(&b, "// Record is a value.\ntype Record struct {\n\tID   int\n\tName string\n}\n\n")
	fmt.Fprintf(&b, "// Store holds records.\ntype Store struct{ items []Record }\n\n")
	fmt.Fprintf(&b, "// Add adds a record.\nfunc (s *Store) Add(r Record) { s.items = append(s.items, r) }\n\n")
	changed := head && i%10 == 0
	if changed && i%20 == 0 {
		fmt.Fprintf(&b, "// Find finds records by name.\nfunc (s *Store) Find(name string, limit int) []Record {\n\tvar out []Record\n\tfor _, r := range s.items {\n\t\tif strings.EqualFold(r.Name, name) && len(out) < limit {\n\t\t\tout = append(out, r)\n\t\t}\n\t}\n\treturn out\n}\n\n")
	} else {
		fmt.Fprintf(&b, "// Find finds records by name.\nfunc (s *Store) Find(name string) []Record {\n\tvar out []Record\n\tfor _, r := range s.items {\n\t\tif strings.EqualFold(r.Name, name) {\n\t\t\tout = append(out, r)\n\t\t}\n\t}\n\treturn out\n}\n\n")
	}
	if changed {
		fmt.Fprintf(&b, "// Len counts records.\nfunc (s *Store) Len() int { return len(s.items) }\n\n")
	}
	for k := 0; k < 8; k++ {
		fmt.Fprintf(&b, "// F%d is generated.\nfunc F%d(x int) int { return x*%d + %d }\n\n", k, k, k+1, i)
	}
	fmt.Fprintf(&b, "// Limit is a constant.\nconst Limit = %d\n", 100+i)
	return b.String()
}

func generate(ctx context.Context, dir string, n int) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s exists; give a new directory", dir)
	}
	repo := filepath.Join(dir, "repos", "big")
	w, err := gitrepo.Init(ctx, repo, "main", gitrepo.Author{Name: "Bench", Email: "bench@cascade.example"})
	if err != nil {
		return err
	}
	write := func(head bool) error {
		files := map[string]string{"go.mod": "module " + mod + "\n\ngo 1.22\n"}
		for i := range n {
			name := fmt.Sprintf("p%02d", i)
			files[name+"/"+name+".go"] = pkgSource(name, i, head)
		}
		for name, content := range files {
			p := filepath.Join(repo, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				return err
			}
		}
		return nil
	}
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := write(false); err != nil {
		return err
	}
	if _, err := w.CommitAll(ctx, when, "v1"); err != nil {
		return err
	}
	if err := w.Tag(ctx, when, "v1.0.0", "v1.0.0"); err != nil {
		return err
	}
	// The proxy directory for v1.0.0, made from the tagged tree.
	v := module.Version{Path: mod, Version: "v1.0.0"}
	pdir := filepath.Join(dir, "proxy", mod, "@v")
	if err := os.MkdirAll(pdir, 0o755); err != nil {
		return err
	}
	zf, err := os.Create(filepath.Join(pdir, "v1.0.0.zip"))
	if err != nil {
		return err
	}
	if err := zip.CreateFromDir(zf, v, repo); err != nil {
		zf.Close()
		return err
	}
	zf.Close()
	info, _ := json.Marshal(map[string]string{"Version": "v1.0.0", "Time": when.Format(time.RFC3339)})
	for name, data := range map[string][]byte{"list": []byte("v1.0.0\n"), "v1.0.0.info": info, "v1.0.0.mod": []byte("module " + mod + "\n\ngo 1.22\n")} {
		if err := os.WriteFile(filepath.Join(pdir, name), data, 0o644); err != nil {
			return err
		}
	}
	if err := write(true); err != nil {
		return err
	}
	if _, err := w.CommitAll(ctx, when.Add(time.Hour), "change some packages"); err != nil {
		return err
	}
	return workspace.WriteFile(filepath.Join(dir, workspace.FileName), []byte("repos:\n  - path: ./repos/big\n"), 0o644)
}
