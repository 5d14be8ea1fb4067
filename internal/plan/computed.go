package plan

import (
	"context"
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

// CheckBases verifies every change's frozen base against git: the base is
// where the frozen head leaves the repo's default branch (their merge
// base), as `plan new` and `plan rescope` freeze it. The performance gate
// measures the head against the base, so a base edited in the plan file
// (say, set to the head, so that a slowdown is compared with itself)
// would decide the gate; a base that is not the merge base is bad input
// naming the file and line. A head that is no longer in the repository is
// left to the scope gate.
func (p *Plan) CheckBases(ctx context.Context, g *graph.Workspace) error {
	for i, c := range p.Changes {
		gi, err := g.Lookup(c.Repo)
		if err != nil {
			return err
		}
		r := g.Repos[gi]
		if r.Git == nil || r.Commit == "" {
			continue
		}
		if _, err := r.Git.Resolve(ctx, c.Head); errkind.Of(err) == errkind.NotFound {
			continue
		} else if err != nil {
			return err
		}
		base, _, err := Freeze(ctx, r.Git, r.Commit, c.Head)
		if err != nil {
			return err
		}
		if base == c.Base {
			continue
		}
		why := fmt.Sprintf("it is %.12s, where the frozen head %.12s leaves %s's default branch (at %.12s)", base, c.Head, c.Repo, r.Commit)
		if base == c.Head {
			why = fmt.Sprintf("the frozen head %.12s is now in %s's default branch (at %.12s), so git no longer tells where it left it", c.Head, c.Repo, r.Commit)
		}
		return errkind.New(errkind.Invalid, "%s: change %s: base %.12s is not where the change starts: %s; the performance gate measures the head against its base, so the base is checked against git, never taken from the file; restore it, or re-freeze with `cascade plan rescope %s` (and review the scope again)",
			p.Where(fmt.Sprintf("changes[%d].base", i)), c.Repo, c.Base, why, p.ID)
	}
	return nil
}
