// Command genperfgate builds the demo organisation for bench/perfgate.sh:
// the demo's repos, plus two heads of clever-api to check a plan against.
// same-code changes only clever-api's README, so its base and head hold
// identical code; adapt-strict-where gets the demo's slow "quick fix".
//
//	go run ./bench/genperfgate -dir /tmp/pg
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/cascade-dev/cascade/internal/demo"
	"github.com/cascade-dev/cascade/internal/gitrepo"
)

func main() {
	dir := flag.String("dir", "", "directory to create (must be new or empty)")
	flag.Parse()
	if *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: genperfgate -dir DIR")
		os.Exit(2)
	}
	if err := generate(context.Background(), *dir); err != nil {
		fmt.Fprintln(os.Stderr, "genperfgate:", err)
		os.Exit(1)
	}
}

func generate(ctx context.Context, dir string) error {
	if _, err := demo.Build(ctx, dir); err != nil {
		return err
	}
	if _, err := demo.PushQuickFix(ctx, dir); err != nil {
		return err
	}
	r, err := gitrepo.Open(filepath.Join(dir, "clever-api"))
	if err != nil {
		return err
	}
	w := &gitrepo.Writer{Repo: r, Author: demo.Author}
	if err := w.Checkout(ctx, "same-code", true); err != nil {
		return err
	}
	readme := filepath.Join(r.WorkDir, "README.md")
	data, err := os.ReadFile(readme)
	if err != nil {
		return err
	}
	if err := os.WriteFile(readme, append(data, "\nSee the API docs.\n"...), 0o644); err != nil {
		return err
	}
	if _, err := w.CommitAll(ctx, time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC), "README: link the API docs"); err != nil {
		return err
	}
	return w.Checkout(ctx, demo.Branch, false)
}
