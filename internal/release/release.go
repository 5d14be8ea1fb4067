package release

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/runbook"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/suggest"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Step states.
const (
	Pending     = "pending"
	Running     = "running"
	Succeeded   = "succeeded"
	Failed      = "failed"
	Interrupted = "interrupted"
	Overridden  = "overridden"
)

// Release states.
const (
	Active  = "active"
	Done    = "done"
	Aborted = "aborted"
)

// Step is one step of a release.
type Step struct {
	Index  int               `json:"index"`
	Repo   string            `json:"repo"`
	Name   string            `json:"name"`
	Kind   string            `json:"kind"`
	State  string            `json:"state"`
	Actor  string            `json:"actor"`
	At     string            `json:"at"`
	Output string            `json:"output"`
	Inputs map[string]string `json:"inputs,omitempty"`
	Runs   int               `json:"runs"`
	Spec   Spec              `json:"-"`
	data   Data
}

// Status is a release with its steps.
type Status struct {
	ID      int64  `json:"id"`
	Plan    string `json:"plan"`
	State   string `json:"state"`
	Manager string `json:"manager"`
	Started string `json:"started_at"`
	Ended   string `json:"ended_at,omitempty"`
	Reason  string `json:"reason,omitempty"`
	Steps   []Step `json:"steps"`
	// ActorsVerified is true when the workspace lists people, so every
	// action was signed by the person it names.
	ActorsVerified bool `json:"actors_verified"`
	// GateOverrides are the failed gates the manager let pass.
	GateOverrides []plan.GateOverride `json:"gate_overrides,omitempty"`
	// Tampered says why the rows shown do not match the release's
	// (signed) audit log or the head its plan file records; "" when they
	// match. Set by Checked.
	Tampered string `json:"tampered,omitempty"`
}

// Engine executes releases.
type Engine struct {
	Store    *store.Store
	WS       *workspace.Workspace
	G        *graph.Workspace
	CacheDir string
	Now      func() time.Time
	// Crash, when set, is called at named points of every automated step:
	// "step-started", "step-executed", "step-finished". Tests use it to
	// kill the process there; nil in the shipped binary.
	Crash func(point string)
	// LeaseTTL is how long a runner's lease lasts without a heartbeat
	// (default DefaultLeaseTTL).
	LeaseTTL time.Duration
	// WatchEvery is how often a runner reads its release's state while a
	// step runs (default DefaultWatchEvery).
	WatchEvery time.Duration
	// Signature is the signed statement of the action this engine runs for
	// a person; it is stored with every audit entry that person makes.
	// Nil when the workspace lists no people (actors unverified).
	Signature *identity.Signature
	// Sign signs a statement with the key of the person acting (nil when
	// the workspace lists no people): the entries a `next` run writes are
	// each signed as they are written, pinning the entry before them.
	Sign func(ctx context.Context, statement string) (*identity.Signature, error)
	// Again is the reason a plan already released is started again
	// (`release start --again --reason`); "" refuses to.
	Again string
	// presigned are entries signed before their transaction, toSign the
	// statements a transaction is waiting for (see storeTx).
	presigned map[string]presig
	toSign    []toSign
	// runner is the person a `next` run acts for (see recorder).
	runner string
	// sigs remembers the audit signatures already verified.
	sigs *sigVerifier
	// Log receives progress lines for a person.
	Log func(format string, args ...any)
	// LookupEnv reads cascade's environment for the variables a step
	// names in `env:`; nil passes none.
	LookupEnv func(string) (string, bool)

	// lease is the runner lease Next holds; nil in a person's command.
	lease *lease
}

func (e *Engine) now() string { return e.Now().UTC().Format(time.RFC3339Nano) }

func (e *Engine) logf(format string, args ...any) {
	if e.Log != nil {
		e.Log(format, args...)
	}
}

// stepSpec is what a step row stores: its spec and template data.
type stepSpec struct {
	Spec Spec `json:"spec"`
	Data Data `json:"data"`
}

// Start begins a release of plan p as actor: it renders every repo's
// runbook (rejecting bad runbooks before anything runs), takes the repo
// locks and records the start.
func (e *Engine) Start(ctx context.Context, p *plan.Plan, actor string) (*Status, error) {
	// The plan's log must be this database's, and intact.
	if err := e.checkHead(ctx, p); err != nil {
		return nil, err
	}
	if err := e.checkSignedScope(p); err != nil {
		return nil, err
	}
	if actor != p.Manager {
		err := errkind.New(errkind.Unauthorized, "only the release manager of %s (%s) may start it; %s may not", p.ID, p.Manager, actor)
		return nil, e.refuse(ctx, 0, p.ID, actor, "start", nil, err)
	}
	if err := p.CheckVersions(e.G); err != nil {
		return nil, err
	}
	notes, err := p.Recompute(e.G)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		e.logf("warning: %s", n)
	}
	if err := p.CheckBases(ctx, e.G); err != nil {
		return nil, err
	}
	if err := reasonText(e.Again); err != nil {
		return nil, err
	}
	if err := e.releasedBefore(ctx, e.Store.DB, p.ID); err != nil {
		return nil, err
	}
	rows, err := e.plannedSteps(ctx, p)
	if err != nil {
		return nil, err
	}
	if err := e.startGates(ctx, p, actor); err != nil {
		return nil, err
	}
	var id int64
	err = e.storeTx(ctx, func(tx *store.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM releases WHERE plan = ? AND state = 'active'", p.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errkind.New(errkind.Conflict, "plan %s already has an active release; `cascade release status %s` shows it", p.ID, p.ID)
		}
		if err := e.releasedBefore(ctx, tx, p.ID); err != nil {
			return err
		}
		for _, c := range p.Changes {
			var holder, lplan, since string
			err := tx.QueryRowContext(ctx, "SELECT holder, plan, since FROM locks WHERE repo = ?", c.Repo).Scan(&holder, &lplan, &since)
			if err == nil {
				return errkind.New(errkind.Conflict, "repo %s is locked by %s's release of plan %s since %s; wait for it, or `cascade release unlock %s --reason TEXT` in an emergency", c.Repo, holder, lplan, since, c.Repo)
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		now := e.now()
		// Release ids count up from 1 without gaps on either backend (a
		// sequence would skip the ids of rolled-back starts, such as the
		// pass that prepares a start's signature): write transactions run
		// one at a time, so max + 1 is free.
		if err := tx.QueryRowContext(ctx, "INSERT INTO releases (id, plan, state, manager, started_at) VALUES ((SELECT coalesce(max(id), 0) + 1 FROM releases), ?, 'active', ?, ?) RETURNING id", p.ID, p.Manager, now).Scan(&id); err != nil {
			return err
		}
		for i, r := range rows {
			name, err := runbook.Text(r.Spec.Name, r.data)
			if err != nil {
				return errkind.New(errkind.Invalid, "%s: step %q: %v", r.Repo, r.Spec.Name, err)
			}
			spec, _ := json.Marshal(stepSpec{Spec: r.Spec, Data: r.data})
			if _, err := tx.ExecContext(ctx, "INSERT INTO steps (release_id, idx, repo, name, kind, spec, state) VALUES (?,?,?,?,?,?, 'pending')",
				id, i+1, r.Repo, name, r.Spec.Kind, string(spec)); err != nil {
				return err
			}
		}
		for _, c := range p.Changes {
			if _, err := tx.ExecContext(ctx, "INSERT INTO locks (repo, release_id, plan, holder, since) VALUES (?,?,?,?,?)", c.Repo, id, p.ID, actor, now); err != nil {
				return err
			}
		}
		details := map[string]any{"repos": p.Repos(), "steps": len(rows), "heads": p.HeadsKey()}
		if e.Again != "" {
			details["again"] = e.Again
		}
		return e.append(ctx, tx, id, p.ID, now, actor, "start", details)
	})
	if err != nil {
		return nil, err
	}
	if err := e.recordHead(ctx, p.ID); err != nil {
		return nil, err
	}
	return e.Status(ctx, p.ID)
}

// releasedBefore refuses to start plan planID again once a release of it
// is done, unless Again gives a reason: a plan is released once (its
// versions are tagged), and a second start would run its deploy steps
// again.
func (e *Engine) releasedBefore(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, planID string) error {
	var id int64
	var ended string
	err := q.QueryRowContext(ctx, "SELECT id, coalesce(ended_at, '') FROM releases WHERE plan = ? AND state = 'done' ORDER BY id DESC LIMIT 1", planID).Scan(&id, &ended)
	if errors.Is(err, sql.ErrNoRows) || err == nil && e.Again != "" {
		return nil
	}
	if err != nil {
		return err
	}
	return errkind.New(errkind.Conflict, "plan %s was released (release %d, done at %s): its steps, tags and deploys ran; for a new change make a new plan (`cascade plan new`), or to run this one again `cascade release start %s --again --reason TEXT` (recorded)", planID, id, ended, planID)
}

// plannedSteps are the steps a release of p has: every repo's runbook at
// its frozen head, in release order, with the plan's template data.
func (e *Engine) plannedSteps(ctx context.Context, p *plan.Plan) ([]Step, error) {
	var rows []Step
	order, err := p.ReleaseOrder(e.G)
	if err != nil {
		return nil, err
	}
	byRepo := map[string]plan.Change{}
	for _, c := range p.Changes {
		byRepo[c.Repo] = c
	}
	for _, grp := range order {
		for _, repo := range grp {
			c, ok := byRepo[repo]
			if !ok {
				return nil, errkind.New(errkind.Invalid, "the release order names %s, which plan %s does not change", repo, p.ID)
			}
			specs, err := e.runbook(ctx, c)
			if err != nil {
				return nil, err
			}
			d := Data{Repo: c.Repo, Version: c.Version, Plan: p.ID, Ref: c.Ref, Commit: c.Head}
			for _, s := range specs {
				rows = append(rows, Step{Repo: c.Repo, Spec: s, Kind: s.Kind, data: d})
			}
		}
	}
	return rows, nil
}

// stepMismatch compares a stored step with the one the plan and the
// runbook at the frozen head say it is: "" when they agree, else what
// differs. The steps table is only a record; a step edited in it (another
// command, another commit, another version) must not run.
func stepMismatch(planned []Step, stored int, s *Step) string {
	if len(planned) != stored {
		return fmt.Sprintf("the release has %s, but the plan's runbooks at their frozen heads have %d", plural.Count(stored, "step"), len(planned))
	}
	if s.Index < 1 || s.Index > len(planned) {
		return fmt.Sprintf("step %d is not one of the plan's %s", s.Index, plural.Count(len(planned), "step"))
	}
	want := planned[s.Index-1]
	got, _ := json.Marshal(stepSpec{Spec: s.Spec, Data: s.data})
	exp, _ := json.Marshal(stepSpec{Spec: want.Spec, Data: want.data})
	name, _ := runbook.Text(want.Spec.Name, want.data)
	switch {
	case s.Repo != want.Repo || s.Kind != want.Kind:
		return fmt.Sprintf("step %d is a %s step of %s, but the runbooks say a %s step of %s", s.Index, s.Kind, s.Repo, want.Kind, want.Repo)
	case s.data.Commit != want.data.Commit:
		return fmt.Sprintf("step %d would act on commit %.12s, but the plan's frozen head of %s is %.12s", s.Index, s.data.Commit, s.Repo, want.data.Commit)
	case string(got) != string(exp) || s.Name != name:
		return fmt.Sprintf("step %d (%s) differs from step %q of %s's runbook at its frozen head %.12s (its command, version or settings were changed)", s.Index, s.Name, name, s.Repo, want.data.Commit)
	}
	return ""
}

// runbook reads a repo's runbook at the frozen head, or the default one.
func (e *Engine) runbook(ctx context.Context, c plan.Change) ([]Spec, error) {
	i, err := e.G.Lookup(c.Repo)
	if err != nil {
		return nil, err
	}
	return runbook.Load(ctx, e.G.Repos[i].Git, c.Repo, c.Ref, c.Head)
}

// latest finds the plan's most recent release.
func (e *Engine) latest(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, planID string) (int64, string, string, error) {
	var id int64
	var state, manager string
	err := q.QueryRowContext(ctx, "SELECT id, state, manager FROM releases WHERE plan = ? ORDER BY id DESC LIMIT 1", planID).Scan(&id, &state, &manager)
	if errors.Is(err, sql.ErrNoRows) {
		if e.WS != nil {
			if _, lerr := plan.Load(e.WS, planID); lerr != nil {
				return 0, "", "", lerr
			}
		}
		return 0, "", "", errkind.New(errkind.NotFound, "plan %s has no release; `cascade release start %s` (by its manager) starts one", planID, planID)
	}
	return id, state, manager, err
}

// Status reads the plan's latest release.
func (e *Engine) Status(ctx context.Context, planID string) (*Status, error) {
	id, _, _, err := e.latest(ctx, e.Store.DB, planID)
	if err != nil {
		return nil, err
	}
	return e.statusOf(ctx, planID, id)
}

// statusOf is release id of plan planID.
func (e *Engine) statusOf(ctx context.Context, planID string, id int64) (*Status, error) {
	st := &Status{ID: id, Plan: planID}
	var ended, reason sql.NullString
	if err := e.Store.DB.QueryRowContext(ctx, "SELECT state, manager, started_at, ended_at, reason FROM releases WHERE id = ?", id).Scan(&st.State, &st.Manager, &st.Started, &ended, &reason); err != nil {
		return nil, err
	}
	st.Ended, st.Reason = ended.String, reason.String
	rows, err := e.Store.DB.QueryContext(ctx, "SELECT idx, repo, name, kind, state, coalesce(actor,''), coalesce(at,''), coalesce(output,''), coalesce(inputs,''), runs, spec FROM steps WHERE release_id = ? ORDER BY idx", id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var s Step
		var inputs, spec string
		if err := rows.Scan(&s.Index, &s.Repo, &s.Name, &s.Kind, &s.State, &s.Actor, &s.At, &s.Output, &inputs, &s.Runs, &spec); err != nil {
			return nil, err
		}
		if inputs != "" {
			_ = json.Unmarshal([]byte(inputs), &s.Inputs)
		}
		var ss stepSpec
		_ = json.Unmarshal([]byte(spec), &ss)
		s.Spec, s.data = ss.Spec, ss.Data
		st.Steps = append(st.Steps, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close()
	st.ActorsVerified = e.WS != nil && len(e.WS.People) > 0
	st.GateOverrides, err = e.GateOverrides(ctx, planID)
	return st, err
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// FindStep resolves a step argument: its number, "repo:name" or a name
// that only one step has.
func FindStep(st *Status, arg string) (*Step, error) {
	if n, err := strconv.Atoi(arg); err == nil {
		for i := range st.Steps {
			if st.Steps[i].Index == n {
				return &st.Steps[i], nil
			}
		}
		msg := fmt.Sprintf("release of %s has no step %d (it has %s)", st.Plan, n, plural.Count(len(st.Steps), "step"))
		if len(st.Steps) > 0 {
			near := &st.Steps[0]
			for i := range st.Steps {
				if d, best := abs(st.Steps[i].Index-n), abs(near.Index-n); d < best {
					near = &st.Steps[i]
				}
			}
			msg += fmt.Sprintf("; did you mean %d (%s)?", near.Index, near.Name)
		}
		return nil, errkind.New(errkind.Invalid, "%s", msg)
	}
	var found []*Step
	for i := range st.Steps {
		s := &st.Steps[i]
		if s.Name == arg || s.Repo+":"+s.Name == arg {
			found = append(found, s)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		var names []string
		for _, s := range st.Steps {
			names = append(names, s.Name, s.Repo+":"+s.Name)
		}
		return nil, errkind.New(errkind.Invalid, "release of %s has no step %q%s; `cascade release status %s` lists them", st.Plan, arg, suggest.DidYouMean(arg, names, strconv.Quote), st.Plan)
	}
	return nil, errkind.New(errkind.Invalid, "%d steps are named %q; give its number or REPO:NAME", len(found), arg)
}

// transition changes a step's state in one transaction with its audit entry.
func (e *Engine) transition(ctx context.Context, st *Status, s *Step, from []string, to, actor, action string, details map[string]any, set func(tx *store.Tx) error) error {
	err := e.activeTx(ctx, st, func(tx *store.Tx) error {
		var cur string
		if err := tx.QueryRowContext(ctx, "SELECT state FROM steps WHERE release_id = ? AND idx = ?", st.ID, s.Index).Scan(&cur); err != nil {
			return err
		}
		ok := false
		for _, f := range from {
			ok = ok || cur == f
		}
		if !ok {
			return errkind.New(errkind.Conflict, "step %d (%s) is %s, not %s", s.Index, s.Name, cur, strings.Join(from, " or "))
		}
		now := e.now()
		if _, err := tx.ExecContext(ctx, "UPDATE steps SET state = ?, actor = ?, at = ? WHERE release_id = ? AND idx = ?", to, actor, now, st.ID, s.Index); err != nil {
			return err
		}
		if set != nil {
			if err := set(tx); err != nil {
				return err
			}
		}
		if details == nil {
			details = map[string]any{}
		}
		details["step"] = s.Index
		details["name"] = s.Name
		details["repo"] = s.Repo
		details["state"] = to
		if err := e.append(ctx, tx, st.ID, st.Plan, now, actor, action, details); err != nil {
			return err
		}
		s.State, s.Actor, s.At = to, actor, now
		return nil
	})
	if err != nil {
		return err
	}
	return e.recordHead(context.WithoutCancel(ctx), st.Plan) // the entry is committed: its head is written even if the runner is stopping
}

// activeTx is tx for a write to release st: it is refused once the
// release is no longer active (another process aborted or finished it
// since st was read).
func (e *Engine) activeTx(ctx context.Context, st *Status, fn func(tx *store.Tx) error) error {
	return e.tx(ctx, func(tx *store.Tx) error {
		if err := stillActive(ctx, tx, st); err != nil {
			return err
		}
		return fn(tx)
	})
}

// stillActive refuses to write to release st once it is no longer active.
func stillActive(ctx context.Context, tx *store.Tx, st *Status) error {
	var state string
	if err := tx.QueryRowContext(ctx, "SELECT state FROM releases WHERE id = ?", st.ID).Scan(&state); err != nil {
		return err
	}
	if state != Active {
		return errkind.New(errkind.Conflict, "the release of %s is %s", st.Plan, state)
	}
	return nil
}

func requireManager(st *Status, actor, what string) error {
	if actor != st.Manager {
		return errkind.New(errkind.Unauthorized, "only the release manager of %s (%s) may %s; %s may not", st.Plan, st.Manager, what, actor)
	}
	return nil
}

func requireActive(st *Status) error {
	if st.State != Active {
		return errkind.New(errkind.Conflict, "the release of %s is %s", st.Plan, st.State)
	}
	return nil
}

// Confirm marks a manual step that waits, or an interrupted tag step, as
// done, with the inputs the person gives. An interrupted step that runs a
// command or a check is not confirmed (its result is unknown): it is
// retried, or overridden with a reason.
func (e *Engine) Confirm(ctx context.Context, planID, stepArg, actor string, inputs map[string]string) (*Step, error) {
	st, err := e.trustedStatus(ctx, planID)
	if err != nil {
		return nil, err
	}
	if err := requireActive(st); err != nil {
		return nil, err
	}
	if err := requireManager(st, actor, "confirm its steps"); err != nil {
		return nil, e.refuse(ctx, st.ID, st.Plan, actor, "confirm", nil, err)
	}
	s, err := FindStep(st, stepArg)
	if err != nil {
		return nil, err
	}
	waiting := current(st)
	switch {
	case s.State == Interrupted && !confirmable(s.Kind):
		err := errkind.New(errkind.Conflict, "step %d (%s) is a %s step that was interrupted: whether its command ran to the end, and what it found, is unknown, so it cannot be confirmed; run it again (`cascade release retry %s %d`), or skip it as the release manager with a reason (`cascade release override %s %d --reason TEXT`, recorded)", s.Index, s.Name, s.Kind, st.Plan, s.Index, st.Plan, s.Index)
		return nil, e.refuse(ctx, st.ID, st.Plan, actor, "confirm", map[string]any{"step": s.Index}, err)
	case s.State == Interrupted && s.Kind == Tag:
		// Its result is in the repo: confirmed only when the tag is there,
		// at the release's commit (on the remote, for a url: repo).
		if why, err := e.tagMissing(ctx, s); err != nil {
			return nil, err
		} else if why != "" {
			err := errkind.New(errkind.Conflict, "step %d (%s) cannot be confirmed: %s; run it again (`cascade release retry %s %d`)", s.Index, s.Name, why, st.Plan, s.Index)
			return nil, e.refuse(ctx, st.ID, st.Plan, actor, "confirm", map[string]any{"step": s.Index}, err)
		}
	case s.State == Interrupted:
	case s.Kind == Manual && s.State == Pending && waiting != nil && waiting.Index == s.Index:
	default:
		return nil, errkind.New(errkind.Conflict, "step %d (%s) is not waiting for a confirmation (it is %s%s)", s.Index, s.Name, s.State, waitingNote(waiting))
	}
	if err := checkInputs(inputs); err != nil {
		return nil, err
	}
	if s.State == Pending {
		// A manual step is confirmed as next would run it: only while
		// the window is open, no freeze holds, the scope is the frozen
		// one, the release holds its locks and the step is the plan's.
		if err := e.gatesBeforeConfirm(ctx, st, s, actor); err != nil {
			return nil, err
		}
	}
	for k := range inputs {
		if !slices.Contains(s.Spec.Inputs, k) {
			asks := "none"
			if len(s.Spec.Inputs) > 0 {
				asks = strings.Join(s.Spec.Inputs, ", ")
			}
			return nil, errkind.New(errkind.Invalid, "step %d (%s) asks for no input %q; it asks for %s", s.Index, s.Name, k, asks)
		}
	}
	for _, need := range s.Spec.Inputs {
		if strings.TrimSpace(inputs[need]) == "" {
			return nil, errkind.New(errkind.Invalid, "step %d (%s) needs --input %s=VALUE", s.Index, s.Name, need)
		}
	}
	raw, _ := json.Marshal(inputs)
	details := map[string]any{"inputs": inputs}
	err = e.transition(ctx, st, s, []string{Pending, Interrupted}, Succeeded, actor, "confirm", details, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE steps SET inputs = ? WHERE release_id = ? AND idx = ?", string(raw), st.ID, s.Index)
		return err
	})
	return s, err
}

// tagMissing says why the tag an interrupted tag step was to make is not
// in its repo at the release's commit ("" when it is): the local repo's
// tag, or for a url: repo the remote's.
func (e *Engine) tagMissing(ctx context.Context, s *Step) (string, error) {
	d := s.data
	if e.G == nil {
		return "", errkind.New(errkind.Infra, "confirming a tag needs the workspace's graph")
	}
	i, err := e.G.Lookup(s.Repo)
	if err != nil {
		return "", err
	}
	repo := e.G.Repos[i]
	var got string
	if repo.URL != "" {
		if got, err = repo.Git.RemoteTagCommit(ctx, repo.URL, d.Version); err != nil {
			return "", err
		}
	} else if got, err = repo.Git.Resolve(ctx, "refs/tags/"+d.Version); err != nil {
		if errkind.Of(err) != errkind.NotFound {
			return "", err
		}
		got = ""
	}
	switch {
	case got == "":
		return fmt.Sprintf("%s has no tag %s", s.Repo, d.Version), nil
	case got != d.Commit:
		return fmt.Sprintf("%s's tag %s points at %.12s, not the release's commit %.12s", s.Repo, d.Version, got, d.Commit), nil
	}
	return "", nil
}

// gatesBeforeConfirm runs the checks release next runs before a step
// that acts, for a manual step about to be confirmed: a wait or a hold is
// recorded and refuses the confirmation.
func (e *Engine) gatesBeforeConfirm(ctx context.Context, st *Status, s *Step, actor string) error {
	if e.WS == nil || e.G == nil {
		return errkind.New(errkind.Infra, "confirming a step needs the workspace's graph")
	}
	p, err := plan.Load(e.WS, st.Plan)
	if err != nil {
		return err
	}
	planned, err := e.plannedSteps(ctx, p)
	if err != nil {
		return err
	}
	if why := stepMismatch(planned, len(st.Steps), s); why != "" {
		stop, err := e.holdTampered(ctx, p, st, s, actor, why)
		if err != nil {
			return err
		}
		return errkind.New(errkind.Problem, "%s\nstep %d was not confirmed", stop.Message, s.Index)
	}
	stop, err := e.recheck(ctx, p, st, s, actor)
	if err != nil || stop == nil {
		return err
	}
	kind := errkind.Problem
	if stop.Waiting {
		kind = errkind.Waiting
	}
	return errkind.New(kind, "%s\nstep %d was not confirmed: confirm it once the release may go on", stop.Message, s.Index)
}

// MaxReason is the longest reason an action records, and the longest
// input (name and value), in bytes; MaxInputs the most inputs a step
// takes. What an action records is read back by every later action.
const (
	MaxReason = 2000
	MaxInputs = 50
)

// reasonText refuses a reason with control characters (a line break, an
// escape sequence): it is recorded and shown as one line of text.
func reasonText(reason string) error {
	if len(reason) > MaxReason {
		return errkind.New(errkind.Invalid, "--reason is %d bytes long; a reason is one line of at most %d bytes", len(reason), MaxReason)
	}
	if i := strings.IndexFunc(reason, invisible); i >= 0 {
		r, _ := utf8.DecodeRuneInString(reason[i:])
		return errkind.New(errkind.Invalid, "--reason holds a control or formatting character (%U); a reason is one line of plain text", r)
	}
	return nil
}

// invisible reports a character a reason or an input must not hold: a
// control character, or a formatting one (bidirectional overrides, zero
// widths, line and paragraph separators) that makes the text read as
// something else.
func invisible(r rune) bool {
	return r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || unicode.Is(unicode.Cf, r) || r == 0x2028 || r == 0x2029
}

// checkInputs refuses input names and values a person could not have
// meant: empty names, names with "=", and control characters (a line
// break would also change what the signed statement says).
func checkInputs(inputs map[string]string) error {
	if len(inputs) > MaxInputs {
		return errkind.New(errkind.Invalid, "%d inputs; a step takes at most %d", len(inputs), MaxInputs)
	}
	for _, k := range slices.Sorted(maps.Keys(inputs)) {
		v := inputs[k]
		if len(k)+len(v) > MaxReason {
			return errkind.New(errkind.Invalid, "--input %.40s...: %d bytes long; an input is one line of at most %d bytes", k, len(k)+len(v), MaxReason)
		}
		if k == "" || strings.Contains(k, "=") {
			return errkind.New(errkind.Invalid, "--input %q: an input is NAME=VALUE with a name", k+"="+v)
		}
		if i := strings.IndexFunc(k+v, invisible); i >= 0 {
			r, _ := utf8.DecodeRuneInString((k + v)[i:])
			return errkind.New(errkind.Invalid, "--input %s: the value holds a control character (%U); inputs are one line of plain text", k, r)
		}
	}
	return nil
}

// confirmable reports whether a person may confirm an interrupted step
// of this kind as done: a tag, whose result anyone can see in the repo.
// An interrupted run, check, verify or gate may have stopped half way or
// found a problem; it is retried, or overridden with a reason.
func confirmable(kind string) bool {
	return kind == Tag || kind == Wait
}

func waitingNote(w *Step) string {
	if w == nil {
		return ""
	}
	return fmt.Sprintf("; the release waits at step %d, %s", w.Index, w.Name)
}

// current is the first step that is not done.
func current(st *Status) *Step {
	for i := range st.Steps {
		if s := &st.Steps[i]; s.State != Succeeded && s.State != Overridden {
			return s
		}
	}
	return nil
}

// Retry sets a failed or interrupted step back to pending.
func (e *Engine) Retry(ctx context.Context, planID, stepArg, actor string) (*Step, error) {
	st, err := e.trustedStatus(ctx, planID)
	if err != nil {
		return nil, err
	}
	if err := requireActive(st); err != nil {
		return nil, err
	}
	if err := requireManager(st, actor, "retry its steps"); err != nil {
		return nil, e.refuse(ctx, st.ID, st.Plan, actor, "retry", nil, err)
	}
	s, err := FindStep(st, stepArg)
	if err != nil {
		return nil, err
	}
	return s, e.transition(ctx, st, s, []string{Failed, Interrupted}, Pending, actor, "retry", nil, nil)
}

// Override skips a failed or pending step, recording why.
func (e *Engine) Override(ctx context.Context, planID, stepArg, actor, reason string) (*Step, error) {
	if err := reasonText(reason); err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" {
		return nil, errkind.New(errkind.Invalid, "an override needs --reason TEXT: it is recorded in the audit log")
	}
	st, err := e.trustedStatus(ctx, planID)
	if err != nil {
		return nil, err
	}
	if err := requireActive(st); err != nil {
		return nil, err
	}
	if err := requireManager(st, actor, "override its steps"); err != nil {
		return nil, e.refuse(ctx, st.ID, st.Plan, actor, "override", nil, err)
	}
	s, err := FindStep(st, stepArg)
	if err != nil {
		return nil, err
	}
	err = e.transition(ctx, st, s, []string{Failed, Pending, Interrupted}, Overridden, actor, "override", map[string]any{"reason": reason}, nil)
	if err != nil {
		return nil, err
	}
	return s, e.finishIfDone(ctx, st.Plan, actor)
}

// Abort ends the release without finishing it and releases its locks.
// It returns the release as it was when aborted (see WhatItDid).
func (e *Engine) Abort(ctx context.Context, planID, actor, reason string) (*Status, error) {
	if err := reasonText(reason); err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" {
		return nil, errkind.New(errkind.Invalid, "an abort needs --reason TEXT: it is recorded in the audit log")
	}
	st, err := e.trustedStatus(ctx, planID)
	if err != nil {
		return nil, err
	}
	if err := requireActive(st); err != nil {
		return nil, err
	}
	if err := requireManager(st, actor, "abort it"); err != nil {
		return nil, e.refuse(ctx, st.ID, st.Plan, actor, "abort", nil, err)
	}
	err = e.activeTx(ctx, st, func(tx *store.Tx) error {
		now := e.now()
		if _, err := tx.ExecContext(ctx, "UPDATE releases SET state = 'aborted', ended_at = ?, reason = ? WHERE id = ?", now, reason, st.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM locks WHERE release_id = ?", st.ID); err != nil {
			return err
		}
		return e.append(ctx, tx, st.ID, st.Plan, now, actor, "abort", map[string]any{"reason": reason})
	})
	if err != nil {
		return nil, err
	}
	return st, e.recordHead(ctx, st.Plan)
}

// Unlock removes a repo's lock in an emergency; it is audited.
func (e *Engine) Unlock(ctx context.Context, repo, actor, reason string) error {
	if err := reasonText(reason); err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" || strings.TrimSpace(actor) == "" {
		return errkind.New(errkind.Invalid, "unlock needs --reason TEXT: it is recorded in the audit log")
	}
	var planID string
	err := e.storeTx(ctx, func(tx *store.Tx) error {
		var id int64
		var holder string
		err := tx.QueryRowContext(ctx, "SELECT release_id, plan, holder FROM locks WHERE repo = ?", repo).Scan(&id, &planID, &holder)
		if errors.Is(err, sql.ErrNoRows) {
			return errkind.New(errkind.Invalid, "repo %s is not locked", repo)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM locks WHERE repo = ?", repo); err != nil {
			return err
		}
		return e.append(ctx, tx, id, planID, e.now(), actor, "unlock", map[string]any{"repo": repo, "holder": holder, "reason": reason})
	})
	if err != nil {
		return err
	}
	return e.recordHead(ctx, planID)
}

// finishIfDone marks the release done when every step is done.
func (e *Engine) finishIfDone(ctx context.Context, planID, actor string) error {
	st, err := e.trustedStatus(ctx, planID)
	if err != nil {
		return err
	}
	if current(st) != nil || st.State != Active {
		return nil
	}
	err = e.tx(ctx, func(tx *store.Tx) error {
		now := e.now()
		res, err := tx.ExecContext(ctx, "UPDATE releases SET state = 'done', ended_at = ? WHERE id = ? AND state = 'active'", now, st.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM locks WHERE release_id = ?", st.ID); err != nil {
			return err
		}
		return e.append(ctx, tx, st.ID, st.Plan, now, actor, "done", nil)
	})
	if err != nil {
		return err
	}
	return e.recordHead(context.WithoutCancel(ctx), st.Plan)
}

// crashpoint calls the injected crash hook at a named point of a step
// (the kill tests stop the process there); the shipped binary has none.
func (e *Engine) crashpoint(name string) {
	if e.Crash != nil {
		e.Crash(name)
	}
}

// append adds an audit entry inside tx. With people, the person whose
// signature this engine's action carries signs the entry itself as it is
// written: the statement holds the action, the entry's kind and details,
// and the hash of the plan's entry before it. So an entry says what
// happened (a refusal cannot be renamed the action it refused), and
// nothing between two entries can be removed.
func (e *Engine) append(ctx context.Context, tx *store.Tx, releaseID int64, planID, at, actor, action string, details map[string]any) error {
	if e.Signature != nil && actor != workspace.ReservedActor {
		if details == nil {
			details = map[string]any{}
		}
		if e.Sign == nil {
			return errkind.New(errkind.Infra, "cannot sign the %s entry: no signing key", action)
		}
		p, err := e.presignedFor(ctx, tx, planID, at, actor, action, details)
		if err != nil {
			return err
		}
		at = p.at
		details["signed"] = p.sig.Statement
		details["signature"] = p.sig.Armored
	}
	return store.Append(ctx, tx, releaseID, planID, at, actor, action, details)
}

// errToSign rolls back a transaction whose entries must be signed first:
// signing (an agent asking for a confirmation, a security key waiting for
// a touch) never happens while the database's write lock is held, so a
// slow signer cannot stall another person's runner.
var errToSign = errors.New("entries to sign before they are written")

// maxSigning bounds how long an action's entries may take to be signed
// (a person at an agent's prompt, other writers moving the log).
const maxSigning = 2 * time.Minute

// presig is an entry's signature made before its transaction: the
// statement holds the entry as it will be written.
type presig struct {
	at  string
	sig *identity.Signature
}

// presignedFor is the signature of the entry append is about to write:
// made earlier for exactly this entry after exactly this history (its
// kind, details, the plan's last entry and the log), or, when there is
// none, the statement to sign is queued and errToSign rolls the
// transaction back (storeTx signs it and runs the transaction again).
func (e *Engine) presignedFor(ctx context.Context, tx *store.Tx, planID, at, actor, action string, details map[string]any) (presig, error) {
	var head, logID string
	err := tx.QueryRowContext(ctx, "SELECT hash FROM audit WHERE plan = ? ORDER BY seq DESC LIMIT 1", planID).Scan(&head)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return presig{}, err
	}
	if err := tx.QueryRowContext(ctx, "SELECT value FROM meta WHERE key = 'log_id'").Scan(&logID); err != nil {
		return presig{}, err
	}
	// Round-trip the details, as the log stores them.
	raw, err := json.Marshal(details)
	if err != nil {
		return presig{}, err
	}
	var stored map[string]any
	_ = json.Unmarshal(raw, &stored)
	signedAction := identity.StatementField(e.Signature.Statement, "action")
	args := map[string]string{"entry": action, "details": signedDetails(stored), "head": head, "log": logID}
	if via, ok := statementArg(e.Signature.Statement, identity.ViaArg); ok {
		// A server signs for the person its action is for: the entry's
		// statement names both, so the server's signature cannot be
		// moved to another person's entry.
		args[identity.ViaArg], args[identity.PersonArg] = via, actor
	}
	key := identity.Statement(planID, signedAction, "", args)
	if p, ok := e.presigned[key]; ok {
		return p, nil
	}
	e.toSign = append(e.toSign, toSign{key: key, at: at, statement: identity.Statement(planID, signedAction, at, args)})
	return presig{}, errToSign
}

// toSign is a statement queued by presignedFor.
type toSign struct {
	key, at, statement string
}

// storeTx runs fn in a transaction; when fn writes entries a person must
// sign, they are signed outside the transaction and fn runs again (a few
// times at most: each time another process wrote to the plan's log
// meanwhile, the entries are signed again after the new history).
func (e *Engine) storeTx(ctx context.Context, fn func(tx *store.Tx) error) error {
	began := time.Now()
	for attempt := 0; ; attempt++ {
		e.toSign = nil
		err := e.Store.Tx(ctx, fn)
		if !errors.Is(err, errToSign) {
			return err
		}
		// An entry is dated when it was first tried: one whose signing
		// took long would be written past what its gates checked (a
		// window that closed meanwhile), so it is tried afresh.
		if time.Since(began) > maxSigning {
			return errkind.New(errkind.Conflict, "signing this action's entries took more than %s (or the audit log kept growing meanwhile): nothing was written; run it again", maxSigning)
		}
		if attempt > 0 && attempt%8 == 0 {
			e.presigned = nil // dated too long ago: sign again with the time now
		}
		if e.presigned == nil {
			e.presigned = map[string]presig{}
		}
		for _, t := range e.toSign {
			sig, err := e.Sign(ctx, t.statement)
			if err != nil {
				return err
			}
			e.presigned[t.key] = presig{at: t.at, sig: sig}
		}
	}
}
