// Package view builds the JSON documents cascade shows about a workspace
// and its releases: the command line prints them (--json) and the server
// sends them, so both say the same thing in the same shape.
package view

import (
	"context"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Reach is the document of `cascade downstream REPO` (dir "downstream")
// or `cascade upstream REPO` (dir "upstream"). REPO may be a repo name, a
// Go module path or an npm package name; direct keeps depth 1 only.
func Reach(g *graph.Workspace, dir, repo string, direct bool) (report.ReachJSON, error) {
	if dir != "downstream" && dir != "upstream" {
		return report.ReachJSON{}, errkind.New(errkind.Invalid, "unknown direction %q; use downstream or upstream", dir)
	}
	start, err := g.Lookup(repo)
	if err != nil {
		return report.ReachJSON{}, err
	}
	var rs *graph.Reached
	if dir == "downstream" {
		rs = g.Downstream(start, direct)
	} else {
		rs = g.Upstream(start, direct)
	}
	prod := g.ProdReachable(start, dir == "downstream")
	return report.Reach(g, dir, rs, func(r graph.Reach) bool { return !prod[r.Node] }), nil
}

// PlanList is the document of `cascade plan list --json`: every plan of
// the workspace, by id.
func PlanList(ws *workspace.Workspace) (map[string]any, error) {
	ps, err := plan.List(ws)
	if err != nil {
		return nil, err
	}
	if ps == nil {
		ps = []*plan.Plan{}
	}
	return map[string]any{"plans": ps}, nil
}

// Log is plan's audit log as `cascade release log` shows it: the entries
// and, when checked, what is wrong with the log.
type Log struct {
	Plan    string
	Entries []store.Entry
	// Checked is set when the log was verified; Problems then lists what
	// the check found (none: the log is intact).
	Checked  bool
	Problems []string
	// ActorsVerified says whether the workspace lists people, so that
	// the actors' names were proved by their signatures.
	ActorsVerified bool
}

// ReleaseLog reads plan planID's audit log from e's store and, with
// check, verifies it as `cascade release log --verify` does. A plan that
// neither exists nor has entries is NotFound: a typo must not read as a
// clean audit.
func ReleaseLog(ctx context.Context, e *release.Engine, planID string, check bool) (*Log, error) {
	if _, err := plan.Load(e.WS, planID); err != nil {
		if n, _ := e.Store.Entries(ctx, planID); len(n) == 0 {
			return nil, err
		}
	}
	entries, err := e.Store.Entries(ctx, planID)
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	l := &Log{Plan: planID, Entries: entries, Checked: check, ActorsVerified: len(e.WS.People) > 0}
	if check {
		if l.Problems, err = e.VerifyLog(ctx, planID); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// Document is the JSON document of `cascade release log --json`.
func (l *Log) Document() map[string]any {
	entries := l.Entries
	if entries == nil {
		entries = []store.Entry{}
	}
	doc := map[string]any{"plan": l.Plan, "entries": entries, "actors_verified": l.ActorsVerified}
	if l.Checked {
		doc["verified"] = len(l.Problems) == 0
		doc["problems"] = l.Problems
	}
	return doc
}

// Audit is the whole audit log of a state database, every plan's entries
// in order, and its check: the hash chain and, when the workspace lists
// people, every entry's signature (a person's, or a listed server's for
// a person).
type Audit struct {
	Entries  []store.Entry `json:"entries"`
	Verified bool          `json:"verified"`
	Problems []string      `json:"problems"`
}

// AuditLog reads every entry of st's audit log and checks its hash chain
// and the signatures against ws's people and servers (ws nil: the chain
// only).
func AuditLog(ctx context.Context, st *store.Store, ws *workspace.Workspace) (*Audit, error) {
	entries, err := st.Entries(ctx, "")
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	problems, err := st.VerifyChain(ctx)
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	if ws != nil && len(ws.People) > 0 {
		logID, err := st.LogID(ctx)
		if err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		sig, err := release.VerifySignatures(ctx, ws.People, ws.Servers, logID, entries)
		if err != nil {
			return nil, err
		}
		problems = append(problems, sig...)
	}
	if entries == nil {
		entries = []store.Entry{}
	}
	if problems == nil {
		problems = []string{}
	}
	return &Audit{Entries: entries, Verified: len(problems) == 0, Problems: problems}, nil
}
