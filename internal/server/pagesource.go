package server

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/cascade-dev/cascade/internal/dashboard"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/jobs"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/verify"
)

// PageSource is the dashboard's Source over a running server: its
// scanned graph, its plans, the release statuses its API sends (checked,
// cached), the audit log, and the verification runs of a jobs system.
// Server is set once the server is made (the dashboard is made first).
type PageSource struct {
	Server *Server
	// Jobs holds the verification runs; nil lists none.
	Jobs *jobs.System
}

var _ dashboard.Source = (*PageSource)(nil)

func (p *PageSource) local() *dashboard.Local {
	snap := p.Server.current()
	return &dashboard.Local{WS: snap.ws, G: snap.g, Engine: p.Server.engineFor(snap)}
}

// Graph implements dashboard.Source.
func (p *PageSource) Graph(context.Context) (*graph.Workspace, error) { return p.Server.Graph(), nil }

// Plans implements dashboard.Source.
func (p *PageSource) Plans(ctx context.Context) ([]*plan.Plan, error) { return p.local().Plans(ctx) }

// Plan implements dashboard.Source.
func (p *PageSource) Plan(ctx context.Context, id string) (*plan.Plan, error) {
	return p.local().Plan(ctx, id)
}

// PlanMarkdown implements dashboard.Source.
func (p *PageSource) PlanMarkdown(ctx context.Context, pl *plan.Plan) (string, error) {
	return p.local().PlanMarkdown(ctx, pl)
}

// Release implements dashboard.Source.
func (p *PageSource) Release(ctx context.Context, planID string) (*release.Status, error) {
	return p.Server.ReleaseStatus(ctx, planID)
}

// Audit implements dashboard.Source.
func (p *PageSource) Audit(ctx context.Context, planID string) ([]store.Entry, []string, error) {
	return p.local().Audit(ctx, planID)
}

// Runs implements dashboard.Source.
func (p *PageSource) Runs(ctx context.Context) ([]dashboard.Run, error) {
	if p.Jobs == nil {
		return nil, nil
	}
	runs, err := p.Jobs.Runs(ctx, 100)
	if err != nil {
		return nil, err
	}
	out := make([]dashboard.Run, 0, len(runs))
	for _, r := range runs {
		out = append(out, pageRun(r, nil))
	}
	return out, nil
}

// Run implements dashboard.Source: a run still going shows the pairs its
// events say are finished.
func (p *PageSource) Run(ctx context.Context, id string) (*dashboard.Run, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 1 || p.Jobs == nil {
		return nil, errkind.New(errkind.NotFound, "no verification run %q", id)
	}
	r, err := p.Jobs.Run(ctx, n)
	if err != nil {
		return nil, err
	}
	evs, err := p.Jobs.Events(ctx, n, 0)
	if err != nil {
		return nil, err
	}
	out := pageRun(r, evs)
	return &out, nil
}

// pageRun is a stored run as the dashboard shows it.
func pageRun(r jobs.Run, evs []jobs.Event) dashboard.Run {
	out := dashboard.Run{ID: strconv.FormatInt(r.ID, 10), Upstream: r.Upstream, With: r.With,
		RequestedBy: r.RequestedBy, Created: r.Created, Error: r.Reason}
	if r.Started != nil {
		out.Started = *r.Started
	}
	if r.Finished != nil {
		out.Finished = *r.Finished
	}
	switch r.State {
	case jobs.StateQueued:
		out.State = dashboard.RunQueued
	case jobs.StateRunning:
		out.State = dashboard.RunRunning
	case jobs.StateDone:
		out.State = dashboard.RunSucceeded
		if r.ExitClass != nil && *r.ExitClass != 0 {
			out.State = dashboard.RunFailed
		}
	case jobs.StateCanceled:
		out.State = dashboard.RunCancelled
	default:
		out.State = dashboard.RunFailed
	}
	if len(r.Report) > 0 {
		var rep verify.Report
		if json.Unmarshal(r.Report, &rep) == nil {
			out.Report = &rep
		}
	}
	partial := out.Report == nil
	if partial && len(evs) > 0 {
		out.Report = &verify.Report{Summary: map[string]int{}}
	}
	for _, ev := range evs {
		var pl struct {
			Repo, State, Verdict, Baseline, Candidate string
			DurationMS                                int64 `json:"duration_ms"`
			Reason                                    string
		}
		_ = json.Unmarshal(ev.Payload, &pl)
		e := dashboard.RunEvent{At: ev.At}
		if ev.Kind == jobs.EventPairStarted || ev.Kind == jobs.EventPairFinished {
			e.Repo, e.State, e.Verdict = pl.Repo, pl.State, pl.Verdict
		}
		switch ev.Kind {
		case jobs.EventRunStarted:
			e.Message = "run started"
		case jobs.EventPairStarted:
			e.Message = "started"
		case jobs.EventPairFinished:
			e.Message = "finished"
			if partial && pl.Verdict != "" {
				out.Report.Results = append(out.Report.Results, verify.Result{Repo: pl.Repo, State: pl.State,
					Baseline: pl.Baseline, Candidate: pl.Candidate, Verdict: pl.Verdict, DurationMS: pl.DurationMS})
				out.Report.Summary[pl.Verdict]++
			}
		case jobs.EventRunFinished:
			e.Message = "run finished: " + pl.State
			if pl.Reason != "" {
				e.Message += " (" + pl.Reason + ")"
			}
		}
		out.Events = append(out.Events, e)
	}
	return out
}
