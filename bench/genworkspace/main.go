// Command genworkspace generates a synthetic workspace for benchmarks: N
// local git repositories, each a Go module (go.mod) or an npm package
// (package.json) that requires 1 to 5 of the repos generated before it,
// and a cascade.yaml that lists them.
//
//	go run ./bench/genworkspace -n 1000 -dir /tmp/ws
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/workspace"
)

func main() {
	n := flag.Int("n", 1000, "number of repos")
	dir := flag.String("dir", "", "directory to create (must not exist)")
	npmShare := flag.Float64("npm", 0.3, "share of repos that are npm packages")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: genworkspace -n N -dir DIR")
		os.Exit(2)
	}
	if err := generate(context.Background(), *dir, *n, *npmShare); err != nil {
		fmt.Fprintln(os.Stderr, "genworkspace:", err)
		os.Exit(1)
	}
}

func generate(ctx context.Context, dir string, n int, npmShare float64) error {
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("%s exists; give a new directory", dir)
	}
	rng := rand.New(rand.NewPCG(42, uint64(n)))
	isNPM := make([]bool, n)
	reqs := make([][]int, n)
	for i := range n {
		isNPM[i] = rng.Float64() < npmShare
		if i == 0 {
			continue
		}
		k := 1 + rng.IntN(5)
		seen := map[int]bool{}
		for range k {
			j := rng.IntN(i)
			if !seen[j] {
				seen[j] = true
				reqs[i] = append(reqs[i], j)
			}
		}
	}
	name := func(i int) string { return fmt.Sprintf("repo%04d", i) }
	manifest := func(i int) (string, string) {
		if isNPM[i] {
			var deps []string
			for _, j := range reqs[i] {
				if isNPM[j] {
					deps = append(deps, fmt.Sprintf("    %q: \"^1.0.0\"", "@org/"+name(j)))
				}
			}
			return "package.json", fmt.Sprintf("{\n  \"name\": \"@org/%s\",\n  \"version\": \"1.0.0\",\n  \"dependencies\": {\n%s\n  }\n}\n", name(i), strings.Join(deps, ",\n"))
		}
		s := fmt.Sprintf("module example.com/org/%s\n\ngo 1.22\n", name(i))
		var lines []string
		for _, j := range reqs[i] {
			if !isNPM[j] {
				lines = append(lines, fmt.Sprintf("\texample.com/org/%s v1.0.0", name(j)))
			}
		}
		if len(lines) > 0 {
			s += "\nrequire (\n" + strings.Join(lines, "\n") + "\n)\n"
		}
		return "go.mod", s
	}
	jobs := make(chan int)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range 2 * runtime.NumCPU() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				errs <- repo(ctx, filepath.Join(dir, "repos", name(i)), manifest)(i)
			}
		}()
	}
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return err
		}
	}
	ws := "# A synthetic workspace for benchmarks.\nrepos:\n"
	for i := range n {
		ws += fmt.Sprintf("  - path: ./repos/%s\n", name(i))
	}
	return workspace.WriteFile(filepath.Join(dir, workspace.FileName), []byte(ws), 0o644)
}

func repo(ctx context.Context, dir string, manifest func(int) (string, string)) func(int) error {
	return func(i int) error {
		w, err := gitrepo.Init(ctx, dir, "main", gitrepo.Author{Name: "Bench", Email: "bench@cascade.example"})
		if err != nil {
			return err
		}
		file, content := manifest(i)
		if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# "+filepath.Base(dir)+"\n"), 0o644); err != nil {
			return err
		}
		_, err = w.CommitAll(ctx, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "init")
		return err
	}
}
