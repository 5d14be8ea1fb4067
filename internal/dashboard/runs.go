package dashboard

import (
	"net/http"
	"slices"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/verify"
)

// Verification runs.

func (d *Dashboard) runs(r *http.Request, v *view) (string, error) {
	runs, err := d.cfg.Source.Runs(r.Context())
	if err != nil {
		return "", err
	}
	v.Title, v.Nav, v.Data = "Verification runs", "runs", runs
	return "runs", nil
}

type runView struct {
	Run        *Run
	States     []string // the matrix's columns
	Rows       []matrixRow
	Summary    []summaryItem
	Conclusion string
}

type matrixRow struct {
	Repo  string
	Cells []*verify.Result // one per state; nil: not (yet) run
}

type summaryItem struct {
	Verdict string
	Count   int
}

func (d *Dashboard) run(r *http.Request, v *view) (string, error) {
	id := r.PathValue("id")
	// A run's id names its topic: one that could not is no run's.
	if !validTopic.MatchString(RunTopic(id)) {
		return "", errkind.New(errkind.NotFound, "no verification run %q", id)
	}
	run, err := d.cfg.Source.Run(r.Context(), id)
	if err != nil {
		return "", err
	}
	rv := runView{Run: run}
	if rep := run.Report; rep != nil {
		rv.Conclusion = rep.Conclusion
		rows := map[string]int{}
		col := map[string]int{}
		for _, res := range rep.Results {
			if _, ok := col[res.State]; !ok {
				col[res.State] = len(rv.States)
				rv.States = append(rv.States, res.State)
			}
		}
		for i := range rep.Results {
			res := &rep.Results[i]
			ri, ok := rows[res.Repo]
			if !ok {
				ri = len(rv.Rows)
				rows[res.Repo] = ri
				rv.Rows = append(rv.Rows, matrixRow{Repo: res.Repo, Cells: make([]*verify.Result, len(rv.States))})
			}
			rv.Rows[ri].Cells[col[res.State]] = res
		}
		for _, verdict := range verify.Verdicts {
			if n := rep.Summary[verdict]; n > 0 {
				rv.Summary = append(rv.Summary, summaryItem{verdict, n})
			}
		}
	}
	if run.State == RunQueued || run.State == RunRunning {
		if err := d.pendingPairs(r, run, &rv); err != nil {
			return "", err
		}
	}
	v.Title, v.Nav, v.Live, v.Data = "Verification run "+run.ID, "runs", RunTopic(run.ID), rv
	return "run", nil
}

// pendingPairs adds to the matrix of a run still going the pairs it has
// no result for yet: every downstream of the upstream repo, alone and
// (with a change set) in the set.
func (d *Dashboard) pendingPairs(r *http.Request, run *Run, rv *runView) error {
	g, err := d.cfg.Source.Graph(r.Context())
	if err != nil {
		return err
	}
	repo, _, _ := strings.Cut(run.Upstream, "@")
	i, err := g.Lookup(repo)
	if err != nil {
		return nil // a run of a repo no longer in the workspace: show what it found
	}
	want := []string{"alone"}
	if len(run.With) > 0 {
		want = append(want, "set")
	}
	for _, st := range want {
		if !slices.Contains(rv.States, st) {
			rv.States = append(rv.States, st)
		}
	}
	for ri := range rv.Rows {
		for len(rv.Rows[ri].Cells) < len(rv.States) {
			rv.Rows[ri].Cells = append(rv.Rows[ri].Cells, nil)
		}
	}
	for _, it := range g.Downstream(i, false).Items {
		name := g.Name(it.Node)
		if !slices.ContainsFunc(rv.Rows, func(m matrixRow) bool { return m.Repo == name }) {
			rv.Rows = append(rv.Rows, matrixRow{Repo: name, Cells: make([]*verify.Result, len(rv.States))})
		}
	}
	return nil
}
