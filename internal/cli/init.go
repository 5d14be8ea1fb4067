package cli

import (
	"fmt"
	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/runbook"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/workspace"
)

func (a *app) initCommand() *cobra.Command {
	var output string
	var force bool
	cmd := &cobra.Command{
		Use:   "init [DIR...]",
		Short: "Write a cascade.yaml listing the git repos found under DIRs",
		Long: `Find the git repositories at or under each DIR (default: the current
directory) and write a cascade.yaml that lists them, with paths relative to
the file. Edit it afterwards to add url: repos, tiers and a release policy.`,
		Example: "  cascade init ~/src/org\n  cascade init -o ~/org/cascade.yaml ~/org/*",
		Args:    usageArgs,
		RunE: func(cmd *cobra.Command, dirs []string) error {
			if len(dirs) == 0 {
				dirs = []string{"."}
			}
			out, err := filepath.Abs(output)
			if err != nil {
				return err
			}
			// A directory, or a path that says it is one (DIR/), gets
			// DIR/cascade.yaml (filepath.Abs drops the slash).
			dirOut := strings.HasSuffix(output, "/") || strings.HasSuffix(output, string(filepath.Separator))
			if fi, err := os.Stat(out); err == nil && fi.IsDir() {
				dirOut = true
			} else if err == nil && dirOut {
				return errkind.New(errkind.Invalid, "-o %s: %s is a file, not a directory; name the file to write, or a directory", output, out)
			}
			if dirOut {
				out = filepath.Join(out, workspace.FileName)
			}
			repos, err := workspace.FindRepos(dirs)
			if err != nil {
				return err
			}
			if _, err := os.Stat(out); err == nil && !force {
				return errkind.New(errkind.Invalid, "%s already exists; pass --force to overwrite it", out)
			}
			if len(repos) == 0 {
				return errkind.New(errkind.Invalid, "no git repositories under %v; give the directories that hold your clones", dirs)
			}
			if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
				return errkind.New(errkind.Invalid, "-o %s: cannot create the directory: %v", output, err)
			}
			if err := workspace.WriteFile(out, workspace.Render(filepath.Dir(out), repos), 0o644); err != nil {
				return errkind.Wrap(errkind.Infra, err)
			}
			fmt.Fprintf(a.stderr, "wrote %s with %s; run `%s` to see how they depend on each other\n", out, plural.Count(len(repos), "repo"), graphHint(out))
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", workspace.FileName, "the `FILE` to write; a directory (an existing one, or a path ending in /) means DIR/cascade.yaml")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	return cmd
}

// graphHint is the command that shows the graph of the workspace file
// out from the current directory: `cascade graph` when cascade finds out
// by itself, else with --workspace.
func graphHint(out string) string {
	wd, err := os.Getwd()
	if err != nil {
		return "cascade --workspace " + shellWord(out) + " graph"
	}
	if found, err := workspace.Find(wd); err == nil && found == out {
		return "cascade graph"
	}
	if rel, err := filepath.Rel(wd, out); err == nil && !strings.HasPrefix(rel, "..") {
		out = rel
	}
	return "cascade --workspace " + shellWord(out) + " graph"
}

// shellWord is s as one word of a POSIX shell command line.
func shellWord(s string) string { return runbook.Word(s) }
