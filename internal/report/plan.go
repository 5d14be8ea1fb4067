package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/plural"
)

func orderText(p *plan.Plan) string {
	var groups []string
	for _, g := range p.Computed.Order {
		if len(g) == 1 {
			groups = append(groups, g[0])
		} else {
			groups = append(groups, "["+strings.Join(g, " then ")+", together]")
		}
	}
	return strings.Join(groups, " → ")
}

// PlanText writes a plan for a person.
func PlanText(w io.Writer, p *plan.Plan, loc *time.Location) error {
	fmt.Fprintf(w, "Plan %s: %s\n", p.ID, p.Title)
	fmt.Fprintf(w, "Release manager: %s\n", p.Manager)
	if p.Spec != "" {
		fmt.Fprintf(w, "Spec: %s\n", p.Spec)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nREPO\tREF\tSCOPE\tVERSION")
	for _, c := range p.Changes {
		v := c.Version
		if v == "" {
			v = "(none proposed)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s..%s\t%s\n", c.Repo, c.Ref, short(c.Base), short(c.Head), v)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRelease order: %s\n", orderText(p))
	if len(p.Computed.Downstream) > 0 {
		fmt.Fprintf(w, "Downstream systems: %s\n", strings.Join(p.Computed.Downstream, ", "))
	}
	if len(p.Computed.Upstream) > 0 {
		fmt.Fprintf(w, "Upstream systems: %s\n", strings.Join(p.Computed.Upstream, ", "))
	}
	for _, r := range p.Rescoped {
		note := ""
		if r.Unverified {
			note = " (UNVERIFIED: no signed re-freeze in the audit log)"
		}
		fmt.Fprintf(w, "Re-frozen by %s at %s %s%s\n", r.By, Stamp(r.At, loc), r.Reason, note)
	}
	switch state, _ := p.GateState(); state {
	case plan.NeverChecked:
		fmt.Fprintf(w, "\nGates: never checked; run `cascade plan check %s`\n", p.ID)
	case plan.StaleState:
		fmt.Fprintf(w, "\nGates at %s: STALE, checked for an earlier scope (the plan was re-frozen or its heads changed since); they say nothing about what ships now: run `cascade plan check %s`\n", checkedAt(p, loc), p.ID)
	default:
		fmt.Fprintf(w, "\nGates at %s:\n", checkedAt(p, loc))
	}
	for _, g := range p.RecordedGates() {
		status := strings.ToUpper(g.Status)
		if g.Recorded != "" {
			status += " (was " + strings.ToUpper(g.Recorded) + ")"
		}
		fmt.Fprintf(w, "  %-12s %-4s %s\n", g.Name, status, g.Reason)
	}
	if len(p.Overrides) > 0 {
		fmt.Fprintln(w, "\nGate overrides (a copy of the audit log's signed ones, which decide):")
		for _, o := range p.Overrides {
			fmt.Fprintf(w, "  %-12s by %s at %s: %s\n", o.Gate, o.By, Stamp(o.At, loc), o.Reason)
		}
	}
	return nil
}

// checkedAt is when the plan's gates were last checked, or "an unknown time".
func checkedAt(p *plan.Plan, loc *time.Location) string {
	if p.Computed.CheckedAt == nil {
		return "an unknown time"
	}
	return Stamp(*p.Computed.CheckedAt, loc)
}

// gateSummary is the GATES column of `plan list`.
func gateSummary(p *plan.Plan) string {
	state, failing := p.GateState()
	switch state {
	case plan.StaleState:
		s := "stale (re-frozen since the last check"
		if len(failing) > 0 {
			s += "; then failing: " + strings.Join(failing, ", ")
		}
		return s + ")"
	case plan.Failing:
		return "failing: " + strings.Join(failing, ", ")
	case plan.Passing:
		var warned []string
		for _, g := range p.Computed.Gates {
			if g.Status == plan.Warn {
				warned = append(warned, g.Name)
			}
		}
		if len(warned) > 0 {
			return "pass (warnings: " + strings.Join(warned, ", ") + ")"
		}
		return "pass"
	}
	return state
}

// PlanList writes one line per plan.
func PlanList(w io.Writer, ps []*plan.Plan) error {
	if len(ps) == 0 {
		_, err := fmt.Fprintln(w, "no plans yet; `cascade plan new ID --title T --manager NAME --change REPO@REF` writes one")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tMANAGER\tREPOS\tGATES")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", p.ID, p.Title, p.Manager, strings.Join(p.Repos(), ", "), gateSummary(p))
	}
	return tw.Flush()
}

// PlanMarkdown writes a plan as Markdown to paste into a spec or a pull
// request: affected systems, order, owner, runbook outline and gates.
func PlanMarkdown(w io.Writer, p *plan.Plan, runbooks map[string][]string, loc *time.Location) error {
	fmt.Fprintf(w, "# Release plan: %s\n\n", p.Title)
	fmt.Fprintf(w, "- **Plan:** `%s`\n", p.ID)
	fmt.Fprintf(w, "- **Release manager:** %s\n", p.Manager)
	if p.Spec != "" {
		fmt.Fprintf(w, "- **Spec:** %s\n", p.Spec)
	}
	if !p.Created.IsZero() {
		fmt.Fprintf(w, "- **Created:** %s\n", Stamp(p.Created, loc))
	}
	if p.Notes != "" {
		fmt.Fprintf(w, "\n%s\n", p.Notes)
	}
	fmt.Fprintln(w, "\n## Change set (frozen scope)")
	fmt.Fprintln(w, "\n| repo | ref | scope | version |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, c := range p.Changes {
		v := c.Version
		if v == "" {
			v = "—"
		}
		fmt.Fprintf(w, "| %s | %s | `%s..%s` | %s |\n", mdText(c.Repo), mdCode(c.Ref), short(c.Base), short(c.Head), mdText(v))
	}
	fmt.Fprintln(w, "\n## Affected systems")
	fmt.Fprintln(w)
	list := func(name string, xs []string) {
		if len(xs) == 0 {
			fmt.Fprintf(w, "- **%s:** none\n", name)
			return
		}
		fmt.Fprintf(w, "- **%s:** %s\n", name, strings.Join(xs, ", "))
	}
	list("Upstream", p.Computed.Upstream)
	list("Downstream", p.Computed.Downstream)
	fmt.Fprintln(w, "\n## Release order")
	fmt.Fprintln(w)
	for i, g := range p.Computed.Order {
		if len(g) == 1 {
			fmt.Fprintf(w, "%d. %s\n", i+1, g[0])
		} else {
			fmt.Fprintf(w, "%d. together: %s (in this order)\n", i+1, strings.Join(g, ", then "))
		}
	}
	fmt.Fprintln(w, "\n## Runbook outline")
	for _, g := range p.Computed.Order {
		for _, repo := range g {
			fmt.Fprintf(w, "\n### %s\n\n", repo)
			for i, s := range runbooks[repo] {
				fmt.Fprintf(w, "%d. %s\n", i+1, mdText(s))
			}
		}
	}
	if len(p.Overrides) > 0 {
		fmt.Fprintln(w, "\n## Gate overrides")
		fmt.Fprintln(w)
		for _, o := range p.Overrides {
			fmt.Fprintf(w, "- **%s** overridden by %s at %s: %s\n", o.Gate, o.By, Stamp(o.At, loc), o.Reason)
		}
	}
	fmt.Fprintln(w, "\n## Gates")
	fmt.Fprintln(w)
	if len(p.Computed.Gates) == 0 {
		fmt.Fprintf(w, "Not checked yet: run `cascade plan check %s`.\n", p.ID)
		return nil
	}
	when := "at an unknown time"
	if p.Computed.CheckedAt != nil {
		when = Stamp(*p.Computed.CheckedAt, loc)
	}
	gates := p.ApplyOverrides(append([]plan.Gate(nil), p.Computed.Gates...), p.Overrides)
	if p.GatesStale() {
		fmt.Fprintf(w, "**Stale:** checked %s for an earlier scope (the plan was re-frozen or its heads changed since); these results say nothing about what ships now: run `cascade plan check %s`.\n\n", when, p.ID)
		gates = p.RecordedGates()
	} else {
		fmt.Fprintf(w, "Checked %s.\n\n", when)
	}
	fmt.Fprintln(w, "| gate | status | reason |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, g := range gates {
		status := g.Status
		if g.Recorded != "" {
			status += " (was " + g.Recorded + ")"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", g.Name, status, mdText(g.Reason))
	}
	return nil
}

// GatesText writes a plan check for a person.
func GatesText(w io.Writer, id string, at time.Time, gates []plan.Gate, loc *time.Location) error {
	fmt.Fprintf(w, "Plan %s, checked for %s\n\n", id, Stamp(at, loc))
	failed := 0
	for _, g := range gates {
		fmt.Fprintf(w, "%-12s %-4s %s\n", g.Name, strings.ToUpper(g.Status), g.Reason)
		for _, d := range g.Details {
			fmt.Fprintf(w, "             %s\n", d)
		}
		if g.Status == plan.Fail {
			failed++
		}
	}
	if failed > 0 {
		fmt.Fprintf(w, "\n%s failed: do not release yet.\n", plural.Count(failed, "gate"))
	} else {
		fmt.Fprintln(w, "\nEvery gate passes.")
	}
	return nil
}
