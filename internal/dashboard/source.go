package dashboard

import (
	"context"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/runbook"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/verify"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Source is where the dashboard reads what it shows. Every value it
// returns may hold text from repositories and is escaped when rendered.
type Source interface {
	// Graph is the workspace's dependency graph.
	Graph(ctx context.Context) (*graph.Workspace, error)
	// Plans lists the workspace's plans; Plan loads one (a NotFound
	// error for an unknown id).
	Plans(ctx context.Context) ([]*plan.Plan, error)
	Plan(ctx context.Context, id string) (*plan.Plan, error)
	// PlanMarkdown is the plan's Markdown report (`plan show --format
	// markdown`).
	PlanMarkdown(ctx context.Context, p *plan.Plan) (string, error)
	// Release is the plan's latest release as Engine.Checked gives it
	// (Tampered set when its rows cannot be believed); a NotFound error
	// when the plan has none.
	Release(ctx context.Context, planID string) (*release.Status, error)
	// Audit is the audit log of a plan (every plan's when planID is "")
	// and the problems its verification found (none: verified).
	Audit(ctx context.Context, planID string) ([]store.Entry, []string, error)
	// Runs lists verification runs, newest first; Run reads one (a
	// NotFound error for an unknown id).
	Runs(ctx context.Context) ([]Run, error)
	Run(ctx context.Context, id string) (*Run, error)
}

// Run states.
const (
	RunQueued    = "queued"
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunCancelled = "cancelled"
)

// Run is one verification run: an upstream candidate verified against
// its downstreams, requested through the server and run as a job.
type Run struct {
	ID string
	// Upstream is REPO@REF; With the change set's other refs.
	Upstream    string
	With        []string
	State       string
	RequestedBy string
	Created     time.Time
	Started     time.Time // zero until it starts
	Finished    time.Time // zero until it ends
	// Report is what the run found so far (results arrive pair by pair);
	// nil before the first.
	Report *verify.Report
	// Events are the run's progress, oldest first.
	Events []RunEvent
	// Error says why a failed run could not verify.
	Error string
}

// RunEvent is one step of a run's progress: a pair (downstream × state)
// started or finished.
type RunEvent struct {
	At      time.Time
	Repo    string
	State   string // "alone" or "set"
	Verdict string // "" while the pair runs
	Message string
}

// Runs is the store of verification runs a Local source reads.
type Runs interface {
	List(ctx context.Context) ([]Run, error)
	Get(ctx context.Context, id string) (*Run, error)
}

// Local is a Source over a workspace on this machine: its graph, its plan
// files and the release engine's state database.
type Local struct {
	WS     *workspace.Workspace
	G      *graph.Workspace
	Engine *release.Engine
	// RunStore holds the verification runs; nil lists none.
	RunStore Runs
	// Runbooks, when set, gives each repo's runbook outline for the plan
	// Markdown; nil reads the runbooks from the repos, as `plan show
	// --format markdown` does.
	Runbooks func(ctx context.Context, p *plan.Plan) (map[string][]string, error)
}

// Graph implements Source.
func (l *Local) Graph(context.Context) (*graph.Workspace, error) { return l.G, nil }

// Plans implements Source.
func (l *Local) Plans(context.Context) ([]*plan.Plan, error) { return plan.List(l.WS) }

// Plan implements Source.
func (l *Local) Plan(_ context.Context, id string) (*plan.Plan, error) {
	if err := plan.ValidID(id); err != nil {
		return nil, errkind.New(errkind.NotFound, "no plan %q", id)
	}
	return plan.Load(l.WS, id)
}

// PlanMarkdown implements Source: the plan with its computed part worked
// out again from the graph (the plan file's is for reviewers, never
// trusted), as `plan show --format markdown` prints it.
func (l *Local) PlanMarkdown(ctx context.Context, p *plan.Plan) (string, error) {
	q := *p // not on the caller's plan
	if _, err := q.Recompute(l.G); err != nil {
		return "", err
	}
	runbooks := l.Runbooks
	if runbooks == nil {
		runbooks = l.runbookOutline
	}
	outline, err := runbooks(ctx, &q)
	if err != nil {
		return "", err
	}
	return planMarkdown(&q, outline, l.WS.Policy.Location)
}

// runbookOutline is each repo's runbook as step names, read from the
// repos.
func (l *Local) runbookOutline(ctx context.Context, p *plan.Plan) (map[string][]string, error) {
	books, err := p.Runbooks(ctx, l.G)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, c := range p.Changes {
		out[c.Repo] = runbook.Names(books[c.Repo], runbook.Data{Repo: c.Repo, Version: c.Version, Plan: p.ID, Ref: c.Ref, Commit: c.Head})
	}
	return out, nil
}

// Release implements Source.
func (l *Local) Release(ctx context.Context, planID string) (*release.Status, error) {
	if err := plan.ValidID(planID); err != nil {
		return nil, errkind.New(errkind.NotFound, "no plan %q", planID)
	}
	return l.Engine.Checked(ctx, planID)
}

// Audit implements Source.
func (l *Local) Audit(ctx context.Context, planID string) ([]store.Entry, []string, error) {
	entries, err := l.Engine.Store.Entries(ctx, planID)
	if err != nil {
		return nil, nil, errkind.Wrap(errkind.Infra, err)
	}
	var problems []string
	if planID == "" {
		problems, err = l.Engine.Store.VerifyChain(ctx)
		if err == nil {
			var logID string
			if logID, err = l.Engine.Store.LogID(ctx); err == nil {
				var sig []string
				sig, err = release.VerifySignatures(ctx, l.WS.People, l.WS.Servers, logID, entries)
				problems = append(problems, sig...)
			}
		}
	} else {
		problems, err = l.Engine.VerifyLog(ctx, planID)
	}
	if err != nil {
		return nil, nil, err
	}
	return entries, problems, nil
}

// Runs implements Source.
func (l *Local) Runs(ctx context.Context) ([]Run, error) {
	if l.RunStore == nil {
		return nil, nil
	}
	return l.RunStore.List(ctx)
}

// Run implements Source.
func (l *Local) Run(ctx context.Context, id string) (*Run, error) {
	if l.RunStore == nil {
		return nil, errkind.New(errkind.NotFound, "no verification run %q", id)
	}
	return l.RunStore.Get(ctx, id)
}

// notFound reports whether err is a NotFound error.
func notFound(err error) bool {
	return err != nil && errkind.Of(err) == errkind.NotFound
}
