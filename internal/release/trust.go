package release

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// trustedStatus reads the plan's latest release for a decision: the rows
// of the releases and steps tables are only a record, so before anything
// acts on them they are checked against the audit log (see checkState),
// and the log against the head the plan file records.
func (e *Engine) trustedStatus(ctx context.Context, planID string) (*Status, error) {
	if e.WS != nil {
		if err := e.checkRecordedHead(ctx, planID, plan.DiskAuditHead(plan.File(e.WS, planID))); err != nil {
			return nil, err
		}
	}
	// The rows and the log are read one after the other: an action of
	// another process that commits in between makes them differ for a
	// moment, so a difference counts only when the log did not grow.
	for attempt := 0; ; attempt++ {
		before, _, err := e.Store.PlanHead(ctx, planID)
		if err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		st, err := e.Status(ctx, planID)
		if err != nil {
			return nil, err
		}
		err = e.checkState(ctx, st)
		if err == nil {
			return st, nil
		}
		after, _, herr := e.Store.PlanHead(ctx, planID)
		if herr != nil {
			return nil, errkind.Wrap(errkind.Infra, herr)
		}
		if after == before || attempt == 3 {
			return nil, err
		}
	}
}

// Checked is Status with the rows checked as trustedStatus checks them
// before acting: when they do not match the audit log (or the log the
// head its plan file records), the rows are still returned, to be shown,
// with Tampered saying why they cannot be believed.
func (e *Engine) Checked(ctx context.Context, planID string) (*Status, error) {
	st, err := e.trustedStatus(ctx, planID)
	if err == nil {
		return st, nil
	}
	var te *TamperedError
	if !errors.As(err, &te) {
		return nil, err
	}
	st, serr := e.Status(ctx, planID)
	if serr != nil {
		return nil, serr
	}
	st.Tampered = "tampered: " + te.Why
	return st, nil
}

// VerifyLog checks plan planID's audit log as `release log --verify`
// does: the hash chain of the whole log, every signature against the
// workspace's people, the head the plan file records, and every release
// of the plan replayed against its rows (as every action checks the
// latest before acting). It returns the problems found, in that order.
func (e *Engine) VerifyLog(ctx context.Context, planID string) ([]string, error) {
	problems, err := e.Store.VerifyChain(ctx)
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	all, err := e.Store.Entries(ctx, "")
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	logID, err := e.Store.LogID(ctx)
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	var people, servers []workspace.Person
	if e.WS != nil {
		people, servers = e.WS.People, e.WS.Servers
	}
	sigProblems, err := VerifySignatures(ctx, people, servers, logID, all)
	if err != nil {
		return nil, err
	}
	problems = append(problems, sigProblems...)
	var entries []store.Entry
	for _, en := range all {
		if en.Plan == planID {
			entries = append(entries, en)
		}
	}
	if e.WS != nil {
		p, err := plan.Load(e.WS, planID)
		if err != nil && errkind.Of(err) != errkind.Invalid && errkind.Of(err) != errkind.NotFound {
			return nil, err
		}
		if err != nil {
			p = nil
		}
		problems = append(problems, VerifyHead(planID, logID, p, err, entries)...)
	}
	if len(problems) > 0 {
		return problems, nil
	}
	rows, err := e.Store.DB.QueryContext(ctx, "SELECT id FROM releases WHERE plan = ? ORDER BY id", planID)
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	for _, id := range ids {
		st, err := e.statusOf(ctx, planID, id)
		if err != nil {
			return nil, err
		}
		if err := e.checkState(ctx, st); err != nil {
			var te *TamperedError
			if !errors.As(err, &te) {
				return nil, err
			}
			problems = append(problems, fmt.Sprintf("release %d: the releases and steps tables do not match the log: %s", id, te.Why))
		}
	}
	return problems, nil
}

// replayed is a step as the audit log tells it.
type replayed struct {
	state  string
	inputs map[string]string
	// output is the SHA-256 of the output the last entry that recorded
	// one vouches for ("" when none did: the output must be empty).
	output string
}

// stepMoves are the step states each audit entry may move a step from.
var stepMoves = map[string][]string{
	"step start":  {Pending},
	"step end":    {Running},
	"interrupted": {Running},
	"retry":       {Failed, Interrupted},
	"confirm":     {Pending, Interrupted},
	"override":    {Failed, Pending, Interrupted},
}

// checkState replays the release's audit entries (hash-checked and, when
// the workspace lists people, each signed by its person and pinning the
// history before it) and compares the release's rows with them: the
// manager is the one who signed the start, a step's state is the one its
// last entry moved it to (succeeded only by a step end that succeeded or
// a confirm; overridden only by an override), its inputs are the ones
// confirmed or amended, and the release is done or aborted only by its
// entry. Any difference is a tampered release: nothing acts on it.
func (e *Engine) checkState(ctx context.Context, st *Status) error {
	entries, problems, err := e.planLog(ctx, st.Plan)
	if err != nil {
		return err
	}
	for _, en := range entries {
		if p := problems[en.Seq]; p != "" {
			return tampered("the audit log of %s does not hold: %s", st.Plan, p)
		}
	}
	var (
		manager  string
		started  bool
		state    = Active
		nsteps   = -1
		steps    = map[int]*replayed{}
		stepOf   = func(en store.Entry) (int, bool) { n, ok := en.Details["step"].(float64); return int(n), ok }
		stringOf = func(v any) map[string]string {
			m, _ := v.(map[string]any)
			out := map[string]string{}
			for k, v := range m {
				s, _ := v.(string)
				out[k] = s
			}
			return out
		}
	)
	verified := e.WS != nil && len(e.WS.People) > 0
	// The plan file, when there is one, is checked against what was
	// signed: its manager against the start's signer, its frozen scope
	// (bases, heads and versions) against the start's or the last
	// re-freeze's.
	var p *plan.Plan
	var heads string
	if e.WS != nil {
		p, _ = plan.Load(e.WS, st.Plan)
	}
	kinds := map[int]string{}
	for _, s := range st.Steps {
		kinds[s.Index] = s.Kind
	}
	for _, en := range entries {
		if en.Release != st.ID {
			continue
		}
		where := fmt.Sprintf("entry %d (%s by %s)", en.Seq, en.Action, en.Actor)
		if started && en.Actor != manager && en.Action != "unlock" && !strings.HasSuffix(en.Action, " refused") &&
			!(en.Actor == workspace.ReservedActor && !verified) {
			return tampered("%s acts on release %d of %s, whose manager is %s: only the manager's actions move a release", where, st.ID, st.Plan, manager)
		}
		// After the release ended only entries about the plan may
		// follow (a re-freeze or a gate override for the next start), and
		// a runner's record of a step it stopped.
		if started && state != Active && en.Action != "interrupted" && en.Action != "unlock" && en.Action != "rescope" && en.Action != "override-gate" && !strings.HasSuffix(en.Action, " refused") {
			return tampered("%s comes after release %d of %s was %s", where, st.ID, st.Plan, state)
		}
		switch en.Action {
		case "start":
			if started {
				return tampered("%s starts release %d a second time", where, st.ID)
			}
			started, manager = true, en.Actor
			if p != nil && verified && en.Actor != p.Manager {
				return tampered("%s: the release was started by %s, but plans/%s.yaml names %s its manager", where, en.Actor, st.Plan, p.Manager)
			}
			if n, ok := en.Details["steps"].(float64); ok {
				nsteps = int(n)
			}
			heads, _ = en.Details["heads"].(string)
			continue
		case "rescope":
			heads, _ = en.Details["heads"].(string)
			continue
		case "abort":
			state = Aborted
			continue
		case "done":
			for i := 1; i <= nsteps; i++ {
				if r := steps[i]; r == nil || r.state != Succeeded && r.state != Overridden {
					return tampered("%s ends release %d of %s, but its entries before it do not show step %d succeeded or overridden", where, st.ID, st.Plan, i)
				}
			}
			state = Done
			continue
		case "amend":
			idx, _ := stepOf(en)
			r := steps[idx]
			if r == nil || r.state != Succeeded {
				return tampered("%s amends step %d, which the entries before it do not show confirmed", where, idx)
			}
			maps.Copy(r.inputs, stringOf(en.Details["new"]))
			continue
		}
		from, moves := stepMoves[en.Action]
		if !moves {
			continue
		}
		idx, ok := stepOf(en)
		to, _ := en.Details["state"].(string)
		if !ok || to == "" {
			return tampered("%s names no step or state", where)
		}
		r := steps[idx]
		if r == nil {
			r = &replayed{state: Pending}
			steps[idx] = r
		}
		if !slices.Contains(from, r.state) {
			return tampered("%s moves step %d from %s, but only a step that is %v can be", where, idx, r.state, from)
		}
		if en.Action == "confirm" {
			kind := kinds[idx]
			if r.state == Pending && kind != Manual || r.state == Interrupted && !confirmable(kind) {
				return tampered("%s confirms step %d, a %s step that is %s, which no confirm may", where, idx, kind, r.state)
			}
		}
		if en.Action == "step end" && to != Succeeded && to != Failed ||
			en.Action != "step end" && to != map[string]string{"step start": Running, "interrupted": Interrupted, "retry": Pending, "confirm": Succeeded, "override": Overridden}[en.Action] {
			return tampered("%s moves step %d to %s, which a %s never does", where, idx, to, en.Action)
		}
		r.state = to
		if h, ok := en.Details["output_sha256"].(string); ok {
			r.output = h
		}
		if en.Action == "confirm" {
			r.inputs = stringOf(en.Details["inputs"])
		}
	}
	if !started {
		return tampered("release %d of %s has no start entry in the audit log", st.ID, st.Plan)
	}
	if p != nil && heads != "" && st.State == Active && p.HeadsKey() != heads {
		return tampered("plans/%s.yaml's frozen scope (its bases, heads and versions: %.12s) is not the one its release was started with or last re-frozen to (%.12s): the plan file was edited; put it back (git), or re-freeze with `cascade plan rescope %s --reason TEXT`", st.Plan, p.HeadsKey(), heads, st.Plan)
	}
	if st.Manager != manager {
		return tampered("the releases table names %s the manager of release %d of %s, but the signed start was %s's", st.Manager, st.ID, st.Plan, manager)
	}
	if st.State != state {
		return tampered("the releases table says release %d of %s is %s, but its audit log says %s", st.ID, st.Plan, st.State, state)
	}
	if nsteps >= 0 && len(st.Steps) != nsteps {
		return tampered("release %d of %s has %d steps in the steps table, but it started with %d", st.ID, st.Plan, len(st.Steps), nsteps)
	}
	for _, s := range st.Steps {
		r := steps[s.Index]
		if r == nil {
			r = &replayed{state: Pending}
		}
		if s.State != r.state {
			return tampered("the steps table says step %d (%s) of %s is %s, but its audit log says %s", s.Index, s.Name, st.Plan, s.State, r.state)
		}
		if r.output == "" && s.Output != "" || r.output != "" && outputHash(s.Output) != r.output {
			return tampered("the steps table holds an output for step %d (%s) of %s that its audit log does not vouch for", s.Index, s.Name, st.Plan)
		}
		if len(s.Inputs)+len(r.inputs) > 0 && !maps.Equal(s.Inputs, r.inputs) {
			return tampered("the steps table gives step %d (%s) of %s the inputs %v, but the confirmed ones in its audit log are %v", s.Index, s.Name, st.Plan, s.Inputs, r.inputs)
		}
	}
	return nil
}
