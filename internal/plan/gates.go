package plan

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/workspace"
)

var dayNames = []string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}

func minutes(t time.Time) int { return t.Hour()*60 + t.Minute() }

func inWindow(p workspace.Policy, t time.Time) (workspace.Window, bool) {
	lt := t.In(p.Location)
	for _, w := range p.Windows {
		if slices.Contains(w.Days, lt.Weekday()) && minutes(lt) >= w.From && minutes(lt) < w.To {
			return w, true
		}
	}
	return workspace.Window{}, false
}

func frozen(p workspace.Policy, t time.Time) (workspace.Freeze, bool) {
	for _, f := range p.Freezes {
		if !t.Before(f.From) && t.Before(f.To) {
			return f, true
		}
	}
	return workspace.Freeze{}, false
}

// NextWindow is the first moment at or after t inside a release window and
// outside every freeze, within a year; false if there is none.
func NextWindow(p workspace.Policy, t time.Time) (time.Time, bool) {
	return nextWindow(p, t, true)
}

// nextWindow is NextWindow; without freezes, the next time a window of
// the policy opens whether or not a freeze covers it.
func nextWindow(p workspace.Policy, t time.Time, freezes bool) (time.Time, bool) {
	lt := t.In(p.Location)
	for day := 0; day < 370; day++ {
		d := time.Date(lt.Year(), lt.Month(), lt.Day()+day, 0, 0, 0, 0, p.Location)
		var starts []time.Time
		for _, w := range p.Windows {
			if !slices.Contains(w.Days, d.Weekday()) {
				continue
			}
			// By the clock on the wall, as inWindow reads it: on a day
			// the clocks change, minutes since midnight are not.
			start := time.Date(d.Year(), d.Month(), d.Day(), w.From/60, w.From%60, 0, 0, p.Location)
			end := time.Date(d.Year(), d.Month(), d.Day(), w.To/60, w.To%60, 0, 0, p.Location)
			if !end.After(t) {
				continue
			}
			if start.Before(t) {
				start = t
			}
			starts = append(starts, start)
		}
		slices.SortFunc(starts, func(a, b time.Time) int { return a.Compare(b) })
		for _, s := range starts {
			if f, ok := frozen(p, s); ok && freezes {
				if _, inW := inWindow(p, f.To); inW {
					return f.To, true
				}
				continue
			}
			return s, true
		}
	}
	return time.Time{}, false
}

func hhmm(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

func describeWindows(p workspace.Policy) string {
	var parts []string
	for _, w := range p.Windows {
		var days []string
		for _, d := range w.Days {
			days = append(days, dayNames[d][:3])
		}
		parts = append(parts, fmt.Sprintf("%s %s-%s", strings.Join(days, ","), hhmm(w.From), hhmm(w.To)))
	}
	return strings.Join(parts, "; ") + " " + p.Timezone
}

// WindowGate passes when at falls in a release window.
func WindowGate(p workspace.Policy, at time.Time) Gate {
	g := Gate{Name: "window"}
	lt := at.In(p.Location)
	when := lt.Format("Monday 2006-01-02 15:04 MST")
	if _, ok := inWindow(p, at); ok {
		g.Status, g.Reason = Pass, fmt.Sprintf("%s is inside a release window (%s)", when, describeWindows(p))
		return g
	}
	g.Status = Fail
	g.Reason = fmt.Sprintf("%s is outside the release windows (%s)", when, describeWindows(p))
	if lt.Weekday() == time.Friday {
		g.Reason += "; no releases on Fridays"
	}
	if next, ok := NextWindow(p, at); ok {
		g.Reason += "; the next window opens " + next.In(p.Location).Format("Monday 2006-01-02 15:04 MST")
	}
	if p.Default {
		g.Details = append(g.Details, "default policy: Monday to Thursday, 09:00 to 16:00 UTC (configure policy.timezone and policy.windows in cascade.yaml)")
	}
	return g
}

// FreezeGate passes when no freeze covers at.
func FreezeGate(p workspace.Policy, at time.Time) Gate {
	g := Gate{Name: "freeze"}
	if f, ok := frozen(p, at); ok {
		g.Status = Fail
		g.Reason = fmt.Sprintf("a freeze is in force from %s to %s", f.From.In(p.Location).Format("2006-01-02 15:04"), f.To.In(p.Location).Format("2006-01-02 15:04 MST"))
		if f.Reason != "" {
			g.Reason += " (" + f.Reason + ")"
		}
		return g
	}
	g.Status, g.Reason = Pass, "no freeze in force"
	if len(p.Freezes) > 0 {
		var next []string
		for _, f := range p.Freezes {
			if f.From.After(at) {
				next = append(next, f.From.In(p.Location).Format("2006-01-02")+" "+f.Reason)
			}
		}
		if len(next) > 0 {
			g.Details = append(g.Details, "coming freezes: "+strings.Join(next, "; "))
		}
	}
	return g
}

// ManagerGate passes when the plan names exactly one release manager.
func ManagerGate(p *Plan) Gate {
	if strings.TrimSpace(p.Manager) == "" {
		return Gate{Name: "manager", Status: Fail, Reason: "no release manager is named"}
	}
	if strings.ContainsAny(p.Manager, ",;") || strings.Contains(p.Manager, " and ") {
		return Gate{Name: "manager", Status: Fail, Reason: fmt.Sprintf("%q names more than one person; a release has exactly one manager", p.Manager)}
	}
	return Gate{Name: "manager", Status: Pass, Reason: p.Manager + " is the release manager"}
}

// ScopeGate passes when every ref still points at its frozen head; it
// lists the commits outside the frozen scope.
func ScopeGate(ctx context.Context, g *graph.Workspace, p *Plan) (Gate, error) {
	gate := Gate{Name: "scope", Status: Pass, Reason: "every ref is at its frozen head"}
	for _, c := range p.Changes {
		i, err := g.Lookup(c.Repo)
		if err != nil {
			return gate, err
		}
		r := g.Repos[i].Git
		cur, err := r.Resolve(ctx, c.Ref)
		if errkind.Of(err) == errkind.Invalid {
			return gate, fmt.Errorf("plan %s, change %s: %w", p.ID, c.Repo, err)
		}
		if err != nil {
			gate.Status = Fail
			gate.Details = append(gate.Details, fmt.Sprintf("%s@%s: the ref no longer exists", c.Repo, c.Ref))
			continue
		}
		if cur == c.Head {
			continue
		}
		gate.Status = Fail
		log, err := r.Log(ctx, c.Head, cur)
		if err != nil {
			return gate, fmt.Errorf("plan %s, change %s: %w", p.ID, c.Repo, err)
		}
		if len(log) == 0 {
			gate.Details = append(gate.Details, fmt.Sprintf("%s@%s: moved to %s, which drops frozen commits (history rewritten)", c.Repo, c.Ref, cur[:12]))
			continue
		}
		for _, l := range log {
			gate.Details = append(gate.Details, fmt.Sprintf("%s@%s: %s %s: %s", c.Repo, c.Ref, l.ID[:12], l.Author, l.Subject))
		}
		if anc, _ := r.MergeBase(ctx, c.Head, cur); anc != c.Head {
			gate.Details = append(gate.Details, fmt.Sprintf("%s@%s: the frozen head %s is no longer in the branch (history rewritten)", c.Repo, c.Ref, c.Head[:12]))
		}
	}
	if gate.Status == Fail {
		gate.Reason = fmt.Sprintf("%s %s outside the frozen scope; review %s, then revert %s or re-freeze with `cascade plan rescope %s`", plural.Count(countCommits(gate.Details), "commit"), plural.Noun(countCommits(gate.Details), "is"), plural.Noun(countCommits(gate.Details), "it"), plural.Noun(countCommits(gate.Details), "it"), p.ID)
	}
	return gate, nil
}

func countCommits(details []string) int {
	n := 0
	for _, d := range details {
		if !strings.Contains(d, "history rewritten") && !strings.Contains(d, "no longer exists") {
			n++
		}
	}
	return n
}

// Order computes the release order of the change set: groups of repos
// that ship together (a member and the members downstream of it), in
// upstream-first order, each group upstream first. A cycle is an error.
func Order(g *graph.Workspace, repos []string) ([][]string, error) {
	if cycles := g.Cycles(); len(cycles) > 0 {
		in := map[string]bool{}
		for _, r := range repos {
			in[r] = true
		}
		for _, c := range cycles {
			for _, n := range c {
				if in[g.Name(n)] {
					var names []string
					for _, m := range c {
						names = append(names, g.Name(m))
					}
					return nil, fmt.Errorf("the change set is in a dependency cycle (%s): no repo can be released first; break the cycle", strings.Join(names, " → "))
				}
			}
		}
	}
	pos := map[string]int{}
	k := 0
	for _, level := range g.Order() {
		for _, group := range level {
			for _, n := range group {
				pos[g.Name(n)] = k
				k++
			}
		}
	}
	nodes := map[string]int{}
	for _, r := range repos {
		i, err := g.Lookup(r)
		if err != nil {
			return nil, err
		}
		nodes[g.Name(i)] = i
	}
	// Union members that depend on each other, directly or through others.
	parent := map[string]string{}
	var find func(string) string
	find = func(x string) string {
		if parent[x] == "" || parent[x] == x {
			parent[x] = x
			return x
		}
		parent[x] = find(parent[x])
		return parent[x]
	}
	for a, ai := range nodes {
		for _, r := range g.Downstream(ai, false).Items {
			if _, ok := nodes[g.Name(r.Node)]; ok {
				parent[find(g.Name(r.Node))] = find(a)
			}
		}
	}
	groups := map[string][]string{}
	for r := range nodes {
		root := find(r)
		groups[root] = append(groups[root], r)
	}
	var out [][]string
	for _, grp := range groups {
		slices.SortFunc(grp, func(a, b string) int { return pos[a] - pos[b] })
		out = append(out, grp)
	}
	slices.SortFunc(out, func(a, b []string) int { return pos[a[0]] - pos[b[0]] })
	return out, nil
}

// Freeze resolves a ref and records its scope: the head, and where it
// leaves the default branch.
func Freeze(ctx context.Context, r *gitrepo.Repo, defaultCommit, ref string) (base, head string, err error) {
	head, err = r.Resolve(ctx, ref)
	if err != nil {
		return "", "", err
	}
	base, err = r.MergeBase(ctx, defaultCommit, head)
	if err != nil {
		return "", "", err
	}
	if base == "" {
		base = head
	}
	return base, head, nil
}
