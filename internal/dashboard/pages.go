package dashboard

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/verify"
)

func (d *Dashboard) funcs() template.FuncMap {
	return template.FuncMap{
		"when":    d.when,
		"stamp":   d.stamp,
		"join":    strings.Join,
		"verdict": verdictClass,
		"gate":    gateClass,
		"state":   stateClass,
		"tail":    logTail,
		"short":   shortCommit,
	}
}

// when formats an RFC 3339 time from the state database; text that is
// not one is shown as it is.
func (d *Dashboard) when(s string) string {
	if s == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return report.Stamp(t, d.loc)
}

func (d *Dashboard) stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return report.Stamp(t, d.loc)
}

// verdictClass is the CSS class of a verdict; every verdict is also
// written out, so colour is never the only sign.
func verdictClass(v string) string {
	switch v {
	case verify.Passed, verify.Fixed:
		return "ok"
	case verify.Regressed, verify.Error:
		return "bad"
	case verify.Broken, verify.Flaky:
		return "warn"
	case "":
		return "pending"
	}
	return "neutral"
}

func gateClass(status string) string {
	switch status {
	case plan.Pass:
		return "ok"
	case plan.Fail:
		return "bad"
	case plan.Warn, plan.Stale:
		return "warn"
	}
	return "neutral"
}

func stateClass(state string) string {
	switch state {
	case release.Succeeded, release.Done:
		return "ok"
	case release.Failed, release.Interrupted, release.Aborted:
		return "bad"
	case release.Running, release.Overridden, release.Active:
		return "warn"
	}
	return "neutral"
}

// shortCommit is a commit's first 12 characters, as git abbreviates.
func shortCommit(s string) string {
	if r := []rune(s); len(r) > 12 {
		return string(r[:12])
	}
	return s
}

// logTailLines is how much of a pair's log the matrix shows.
const logTailLines = 40

func logTail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > logTailLines {
		lines = append([]string{"…"}, lines[len(lines)-logTailLines:]...)
	}
	return strings.Join(lines, "\n")
}

// The index: the graph.

type indexView struct {
	SVG   svgGraph
	Order [][]string
	Repos []repoRow
}

type repoRow struct {
	Name, Branch, Commit, Tier string
	Modules                    []string
	Upstream, Downstream       int
}

func (d *Dashboard) index(r *http.Request, v *view) (string, error) {
	g, err := d.cfg.Source.Graph(r.Context())
	if err != nil {
		return "", err
	}
	iv := indexView{SVG: layout(g)}
	for _, level := range g.Order() {
		var names []string
		for _, group := range level {
			for _, n := range group {
				names = append(names, g.Name(n))
			}
		}
		iv.Order = append(iv.Order, names)
	}
	for i, repo := range g.Repos {
		row := repoRow{Name: repo.Name, Branch: repo.Branch, Commit: repo.Commit, Tier: repo.Tier,
			Upstream: len(g.Upstream(i, false).Items), Downstream: len(g.Downstream(i, false).Items)}
		for _, m := range repo.Modules {
			row.Modules = append(row.Modules, m.Name)
		}
		iv.Repos = append(iv.Repos, row)
	}
	v.Title, v.Nav, v.Data = "Workspace", "graph", iv
	return "index", nil
}

// A repo's page.

type repoView struct {
	repoRow
	URL        string
	ModuleList []moduleRow
	Requires   []requireRow
	Up, Down   []reachRow
}

type moduleRow struct{ Name, Ecosystem, Dir, Version string }
type requireRow struct {
	Repo, Module, Version, Via string
	Dev                        bool
}
type reachRow struct {
	Repo  string
	Depth int
	Path  []string
}

func (d *Dashboard) repo(r *http.Request, v *view) (string, error) {
	g, err := d.cfg.Source.Graph(r.Context())
	if err != nil {
		return "", err
	}
	name := r.PathValue("repo")
	i, err := g.Lookup(name)
	if err != nil {
		return "", errkind.New(errkind.NotFound, "%s", err.Error())
	}
	repo := g.Repos[i]
	rv := repoView{repoRow: repoRow{Name: repo.Name, Branch: repo.Branch, Commit: repo.Commit, Tier: repo.Tier},
		URL: gitrepo.RedactURL(repo.URL)}
	for _, m := range repo.Modules {
		rv.ModuleList = append(rv.ModuleList, moduleRow{Name: m.Name, Ecosystem: m.Ecosystem, Dir: m.Dir, Version: m.Version})
	}
	for _, e := range g.Edges[i] {
		rv.Requires = append(rv.Requires, requireRow{Repo: g.Name(e.To), Module: e.Module, Version: e.Version, Via: e.Via, Dev: e.Dev})
	}
	reach := func(rs *graph.Reached) []reachRow {
		var out []reachRow
		for _, it := range rs.Items {
			var path []string
			for _, n := range rs.Path(it.Node) {
				path = append(path, g.Name(n))
			}
			out = append(out, reachRow{Repo: g.Name(it.Node), Depth: it.Depth, Path: path})
		}
		return out
	}
	rv.Up, rv.Down = reach(g.Upstream(i, false)), reach(g.Downstream(i, false))
	v.Title, v.Nav, v.Data = repo.Name, "graph", rv
	return "repo", nil
}

// Plans.

type planRow struct {
	ID, Title, Manager string
	GateState          string
	Failing            []string
	Release            string // the latest release's state, "" for none
}

func (d *Dashboard) plans(r *http.Request, v *view) (string, error) {
	ps, err := d.cfg.Source.Plans(r.Context())
	if err != nil {
		return "", err
	}
	var rows []planRow
	for _, p := range ps {
		state, failing := p.GateState()
		row := planRow{ID: p.ID, Title: p.Title, Manager: p.Manager, GateState: state, Failing: failing}
		st, err := d.cfg.Source.Release(r.Context(), p.ID)
		switch {
		case err == nil:
			row.Release = st.State
		case !notFound(err):
			return "", err
		}
		rows = append(rows, row)
	}
	v.Title, v.Nav, v.Data = "Plans", "plans", rows
	return "plans", nil
}

type planView struct {
	Plan      *plan.Plan
	Gates     []gateRow
	GateState string
	Markdown  string
	Release   string
}

type gateRow struct {
	Name, Status, Label, Reason, Recorded string
	Details                               []string
}

// gateLabel is a gate status as the dashboard writes it: a gate never
// checked, or checked for another scope, is "unknown".
func gateLabel(status string) string {
	switch status {
	case plan.Pass, plan.Fail, plan.Warn:
		return status
	case plan.Stale:
		return "unknown (stale)"
	}
	return "unknown"
}

func (d *Dashboard) plan(r *http.Request, v *view) (string, error) {
	ctx := r.Context()
	p, err := d.cfg.Source.Plan(ctx, r.PathValue("id"))
	if err != nil {
		return "", err
	}
	pv := planView{Plan: p}
	pv.GateState, _ = p.GateState()
	recorded := p.RecordedGates()
	seen := map[string]bool{}
	for _, g := range recorded {
		seen[g.Name] = true
		pv.Gates = append(pv.Gates, gateRow{Name: g.Name, Status: g.Status, Label: gateLabel(g.Status), Reason: g.Reason, Recorded: g.Recorded, Details: g.Details})
	}
	// The gates every plan has, shown as unknown until a check records them.
	for _, name := range []string{"window", "freeze", "manager", "scope", "semver", "downstream"} {
		if !seen[name] {
			pv.Gates = append(pv.Gates, gateRow{Name: name, Label: gateLabel(""), Reason: "not checked yet (`cascade plan check " + p.ID + "`)"})
		}
	}
	if pv.Markdown, err = d.cfg.Source.PlanMarkdown(ctx, p); err != nil {
		return "", err
	}
	st, err := d.cfg.Source.Release(ctx, p.ID)
	switch {
	case err == nil:
		pv.Release = st.State
	case !notFound(err):
		return "", err
	}
	v.Title, v.Nav, v.Data = "Plan "+p.ID, "plans", pv
	return "plan", nil
}

// planMarkdown is a plan's Markdown report, as `plan show --format
// markdown` prints it.
func planMarkdown(p *plan.Plan, outline map[string][]string, loc *time.Location) (string, error) {
	var b bytes.Buffer
	if err := report.PlanMarkdown(&b, p, outline, loc); err != nil {
		return "", err
	}
	return b.String(), nil
}

// A release.

type releaseView struct {
	PlanID  string
	Status  *release.Status
	None    bool // the plan has no release yet
	Manager bool // the viewer is the release's manager: show the buttons
	Steps   []stepRow
}

type stepRow struct {
	release.Step
	Confirm, Retry, Override bool
}

func (d *Dashboard) release(r *http.Request, v *view) (string, error) {
	ctx := r.Context()
	id := r.PathValue("plan")
	if err := plan.ValidID(id); err != nil {
		return "", errkind.New(errkind.NotFound, "no plan %q", id)
	}
	rv := releaseView{PlanID: id}
	st, err := d.cfg.Source.Release(ctx, id)
	switch {
	case notFound(err):
		if _, perr := d.cfg.Source.Plan(ctx, id); perr != nil {
			return "", perr
		}
		rv.None = true
	case err != nil:
		return "", err
	default:
		rv.Status = st
		// The buttons are a convenience for the manager; the API decides.
		rv.Manager = v.Person != "" && v.Person == st.Manager && st.State == release.Active && st.Tampered == ""
		for _, s := range st.Steps {
			row := stepRow{Step: s}
			if rv.Manager {
				row.Confirm = s.State == release.Interrupted || (s.Kind == release.Manual && s.State == release.Pending)
				row.Retry = s.State == release.Failed || s.State == release.Interrupted
				row.Override = slices.Contains([]string{release.Pending, release.Failed, release.Interrupted}, s.State)
			}
			rv.Steps = append(rv.Steps, row)
		}
	}
	v.Title, v.Nav, v.Live, v.Data = "Release of "+id, "plans", ReleaseTopic(id), rv
	return "release", nil
}

// The audit log.

type auditView struct {
	Plan     string
	Plans    []string
	Entries  []auditRow
	Problems []string
}

type auditRow struct {
	store.Entry
	DetailText string
	// Signed: the entry carries the signature of the person it names.
	Signed bool
}

// maxDetail is how much of an entry's details the log shows.
const maxDetail = 400

func (d *Dashboard) audit(r *http.Request, v *view) (string, error) {
	ctx := r.Context()
	av := auditView{Plan: r.URL.Query().Get("plan")}
	if av.Plan != "" {
		if err := plan.ValidID(av.Plan); err != nil {
			return "", errkind.New(errkind.Invalid, "no plan %q: pick one from the list", av.Plan)
		}
	}
	ps, err := d.cfg.Source.Plans(ctx)
	if err != nil {
		return "", err
	}
	for _, p := range ps {
		av.Plans = append(av.Plans, p.ID)
	}
	entries, problems, err := d.cfg.Source.Audit(ctx, av.Plan)
	if err != nil {
		return "", err
	}
	av.Problems = problems
	for _, e := range entries {
		// The signature and what was signed are checked above, not read.
		shown := map[string]any{}
		for k, v := range e.Details {
			if k != "signature" && k != "signed" {
				shown[k] = v
			}
		}
		text := ""
		if len(shown) > 0 {
			b, _ := json.Marshal(shown)
			text = shorten(string(b), maxDetail)
		}
		_, signed := e.Details["signature"]
		av.Entries = append(av.Entries, auditRow{Entry: e, DetailText: text, Signed: signed})
	}
	v.Title, v.Nav, v.Data = "Audit log", "audit", av
	return "audit", nil
}

func (d *Dashboard) login(r *http.Request, v *view) (string, error) {
	v.Title, v.Nav = "Log in", "login"
	next := r.URL.Query().Get("next")
	// Only a path of this site: never an address elsewhere.
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		next = "/"
	}
	v.Data = struct {
		Failed bool
		Next   string
	}{r.URL.Query().Get("failed") != "", next}
	return "login", nil
}
