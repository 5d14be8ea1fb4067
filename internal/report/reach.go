package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cascade-dev/cascade/internal/graph"
)

// ReachJSON is the JSON document of `cascade downstream` and `cascade
// upstream`; the list is under the key "downstream" or "upstream".
type ReachJSON struct {
	Of    string      `json:"of"`
	Items []ReachItem `json:"-"`
	Key   string      `json:"-"`
}

// ReachItem is one repo found, with its depth and one shortest path.
type ReachItem struct {
	Repo  string   `json:"repo"`
	Depth int      `json:"depth"`
	Path  []string `json:"path"`
	Tier  string   `json:"tier,omitempty"`
	// Dev is true when every path to the repo has a dev-only requirement.
	Dev bool `json:"dev,omitempty"`
}

// MarshalJSON names the list after the query's direction.
func (r ReachJSON) MarshalJSON() ([]byte, error) {
	items := r.Items
	if items == nil {
		items = []ReachItem{}
	}
	of, err := marshal(r.Of)
	if err != nil {
		return nil, err
	}
	list, err := marshal(items)
	if err != nil {
		return nil, err
	}
	key, _ := marshal(r.Key)
	return []byte(`{"of":` + string(of) + `,` + string(key) + `:` + string(list) + `}`), nil
}

// Reach converts traversal results to their JSON document.
func Reach(g *graph.Workspace, key string, rs *graph.Reached, dev func(graph.Reach) bool) ReachJSON {
	doc := ReachJSON{Of: g.Name(rs.Start), Key: key}
	for _, r := range rs.Items {
		doc.Items = append(doc.Items, ReachItem{Repo: g.Name(r.Node), Depth: r.Depth, Path: names(g, rs.Path(r.Node)), Tier: g.Repos[r.Node].Tier, Dev: dev(r)})
	}
	return doc
}

// ReachText writes a table of one line per repo, under a header: name,
// depth and path.
func ReachText(w io.Writer, doc ReachJSON) error {
	if len(doc.Items) == 0 {
		_, err := fmt.Fprintf(w, "nothing is %s of %s\n", doc.Key, doc.Of)
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "REPO\tDEPTH\tPATH\n")
	for _, it := range doc.Items {
		note := ""
		if it.Dev {
			note = "  (dev only)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s%s\n", it.Repo, it.Depth, strings.Join(it.Path, " → "), note)
	}
	return tw.Flush()
}
