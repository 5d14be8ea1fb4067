package plan

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
)

// ReleaseOrder is the release order of the plan's change set, worked out
// from the workspace graph as `plan new` does. The plan file's
// computed.order is a copy for reviewers and is never read for it: an
// edited order could drop a repo from the downstream gate and from the
// release.
func (p *Plan) ReleaseOrder(g *graph.Workspace) ([][]string, error) {
	order, err := Order(g, p.Repos())
	if err != nil {
		return nil, errkind.New(errkind.Invalid, "%s: %v", p.Where("changes"), err)
	}
	return order, nil
}

// Recompute works out again what the plan file keeps under computed: for
// reviewers (the release order, the repos upstream and downstream) and
// puts it in p. It returns a note naming file:line for each value the
// file had otherwise, as `plan check` and `release start` report it; the
// recomputed value is the one used.
func (p *Plan) Recompute(g *graph.Workspace) ([]string, error) {
	order, err := p.ReleaseOrder(g)
	if err != nil {
		return nil, err
	}
	up, down := Affected(g, p.Repos())
	var notes []string
	differ := func(key, file, computed string) {
		notes = append(notes, fmt.Sprintf("%s: computed.%s says %s, but the workspace gives %s; using %s (nothing under computed: is taken from the file)",
			p.Where("computed"), key, file, computed, computed))
	}
	if !slices.EqualFunc(p.Computed.Order, order, slices.Equal[[]string]) {
		differ("order", orderString(p.Computed.Order), orderString(order))
	}
	if !slices.Equal(p.Computed.Upstream, up) && len(p.Computed.Upstream)+len(up) > 0 {
		differ("upstream", listString(p.Computed.Upstream), listString(up))
	}
	if !slices.Equal(p.Computed.Downstream, down) && len(p.Computed.Downstream)+len(down) > 0 {
		differ("downstream", listString(p.Computed.Downstream), listString(down))
	}
	p.Computed.Order, p.Computed.Upstream, p.Computed.Downstream = order, up, down
	return notes, nil
}

func orderString(order [][]string) string {
	var groups []string
	for _, grp := range order {
		groups = append(groups, "["+strings.Join(grp, " ")+"]")
	}
	return "[" + strings.Join(groups, " ") + "]"
}

func listString(xs []string) string {
	return "[" + strings.Join(xs, " ") + "]"
}
