package cli

import (
	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/report"
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
			start, err := g.Lookup(argv[0])
			if err != nil {
				return err
			}
			var rs *graph.Reached
			if dir == "downstream" {
				rs = g.Downstream(start, direct)
			} else {
				rs = g.Upstream(start, direct)
			}
			prod := g.ProdReachable(start, dir == "downstream")
			doc := report.Reach(g, dir, rs, func(r graph.Reach) bool { return !prod[r.Node] })
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
