package cli

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
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
			if r, err := a.remoteServer(); err != nil || r != nil {
				if err != nil {
					return err
				}
				var doc map[string]json.RawMessage
				q := ""
				if direct {
					q = "?direct=true"
				}
				if printed, err := a.fetchDoc(r, "/api/v1/repos/"+pathSeg(argv[0])+"/"+dir+q, asJSON, &doc); err != nil || printed {
					return err
				}
				reach, err := reachOf(doc)
				if err != nil {
					return errkind.New(errkind.Infra, "%s: the %s document does not decode (%v)", r.client.Server, dir, err)
				}
				return report.ReachText(a.stdout, reach)
			}
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

// reachOf is the reach document a server sent: "of" and one list named
// after the direction.
func reachOf(doc map[string]json.RawMessage) (report.ReachJSON, error) {
	var out report.ReachJSON
	if err := json.Unmarshal(doc["of"], &out.Of); err != nil {
		return out, err
	}
	for k, v := range doc {
		if k == "of" || k == "schema_version" {
			continue
		}
		if out.Key != "" {
			return out, fmt.Errorf("two lists, %q and %q", out.Key, k)
		}
		out.Key = k
		if err := json.Unmarshal(v, &out.Items); err != nil {
			return out, err
		}
	}
	return out, nil
}
