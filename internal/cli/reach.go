package cli

import (
	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/view"
)

// reachCommand is `cascade downstream` or `cascade upstream`.
func (a *app) reachCommand(dir string) *cobra.Command {
	var direct, asJSON bool
	short := "List the repos that depend on REPO, with their depth and a path"
	long := `List every repo that depends on REPO, directly (depth 1) or through others,
nearest first, each with one shortest path from REPO to it. These are the
repos a change to REPO can break.`
	if dir == "upstream" {
		short = "List the repos REPO depends on, with their depth and a path"
		long = `List every repo that REPO depends on, directly (depth 1) or through others,
nearest first, each with one shortest path from REPO to it.`
	}
	cmd := &cobra.Command{
		Use:     dir + " REPO",
		Short:   short,
		Long:    long + "\n\nREPO is a repo name, a Go module path or an npm package name.",
		Example: "  cascade " + dir + " clever-db\n  cascade " + dir + " example.com/clever/clever-db --direct --json",
		Args:    usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			_, g, err := a.loadGraph()
			if err != nil {
				return err
			}
			doc, err := view.Reach(g, dir, argv[0], direct)
			if err != nil {
				return err
			}
			if asJSON {
				return report.JSON(a.stdout, doc)
			}
			return report.ReachText(a.stdout, doc)
		},
	}
	cmd.Flags().BoolVar(&direct, "direct", false, "only direct "+map[string]string{"downstream": "dependents", "upstream": "requirements"}[dir])
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}
