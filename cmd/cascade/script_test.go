package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/cascade-dev/cascade/internal/cli"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"cascade": func() {
			os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
		},
	})
}

// TestScript runs the end-to-end scripts under testdata/script: each builds
// real git repositories in a temp dir and runs the real cascade binary.
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("..", "..", "testdata", "script"),
		RequireExplicitExec: true,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// expand FILE...: replace $VAR references in files with their values.
			"expand": func(ts *testscript.TestScript, neg bool, args []string) {
				for _, f := range args {
					data := ts.ReadFile(f)
					ts.Check(os.WriteFile(ts.MkAbs(f), []byte(os.Expand(data, ts.Getenv)), 0o644))
				}
			},
		},
		Setup: func(env *testscript.Env) error {
			gitconfig := filepath.Join(env.WorkDir, ".gitconfig")
			err := os.WriteFile(gitconfig, []byte("[user]\n\tname = Test Engineer\n\temail = test@cascade.example\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n"), 0o644)
			if err != nil {
				return err
			}
			env.Setenv("GIT_CONFIG_NOSYSTEM", "1")
			env.Setenv("GIT_CONFIG_GLOBAL", gitconfig)
			env.Setenv("GIT_AUTHOR_DATE", "2026-03-02T09:00:00Z")
			env.Setenv("GIT_COMMITTER_DATE", "2026-03-02T09:00:00Z")
			env.Setenv("CASCADE_CACHE_DIR", filepath.Join(env.WorkDir, ".cache", "cascade"))
			return nil
		},
	})
}
