package cli

import (
	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/report"
)

func (a *app) graphCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph",
		Short: "Print the workspace's dependency graph",
		Long: `Print every repo of the workspace with its modules (Go modules, npm packages)
and what it requires of the other repos, then the release order (upstream
first) and any dependency cycles.

Formats: text (default), json, dot (Graphviz) and mermaid.`,
		Example: `  cascade graph
  cascade graph --format dot | dot -Tsvg > graph.svg
  cascade graph --format json | jq '.repos[].name'`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch format {
			case "text", "json", "dot", "mermaid":
			default:
				return errkind.New(errkind.Invalid, "unknown format %q; use text, json, dot or mermaid", format)
			}
			if r, err := a.remoteServer(); err != nil || r != nil {
				if err != nil {
					return err
				}
				if format != "json" {
					return errkind.New(errkind.Invalid, "through a server, graph prints --format json only; run it without --server for %s", format)
				}
				_, err := a.fetchDoc(r, "/api/v1/graph", true, nil)
				return err
			}
			_, g, err := a.loadGraph()
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return report.JSON(a.stdout, report.Graph(g))
			case "dot":
				return report.GraphDOT(a.stdout, g)
			case "mermaid":
				return report.GraphMermaid(a.stdout, g)
			}
			return report.GraphText(a.stdout, g)
		},
	}
	outputFormat(cmd, &format, "text", "json", "dot", "mermaid")
	return cmd
}
