package release

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/semver"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/suggest"
)

// refuse records a refused action in the audit log and returns err: a
// refusal is evidence too.
func (e *Engine) refuse(ctx context.Context, releaseID int64, planID, actor, action string, details map[string]any, err error) error {
	if details == nil {
		details = map[string]any{}
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	details["refused"] = msg
	aerr := e.storeTx(ctx, func(tx *store.Tx) error {
		return e.append(ctx, tx, releaseID, planID, e.now(), actor, action+" refused", details)
	})
	if aerr != nil {
		return aerr
	}
	if herr := e.recordHead(ctx, planID); herr != nil {
		return herr
	}
	return err
}

// gatesText is one line per gate, for messages.
func gatesText(gates []plan.Gate) string {
	var lines []string
	for _, g := range gates {
		lines = append(lines, fmt.Sprintf("  %-12s %-10s %s", g.Name, strings.ToUpper(g.Status), g.Reason))
	}
	return strings.Join(lines, "\n")
}

// startGates runs every gate of the plan; a failed one refuses the start.
// Overrides come from the audit log only (signed override-gate entries by
// the starting manager), never from the plan file.
func (e *Engine) startGates(ctx context.Context, p *plan.Plan, actor string) error {
	ovs, err := e.decisionOverrides(ctx, p.ID, actor)
	if err != nil {
		return err
	}
	gates, err := plan.StartGates(ctx, e.WS, e.G, p, plan.CheckOptions{At: e.Now(), CacheDir: e.CacheDir}, ovs)
	if err != nil {
		return err
	}
	if gates, err = e.HoldUntrustedScope(ctx, p, gates); err != nil {
		return err
	}
	var failed []string
	reasons := map[string]any{}
	for _, g := range gates {
		if g.Status == plan.Fail {
			failed = append(failed, g.Name)
			reasons[g.Name] = g.Reason
		}
	}
	if len(failed) == 0 {
		e.logf("gates of %s:\n%s", p.ID, gatesText(gates))
		return nil
	}
	err = errkind.New(errkind.Problem, "the release of %s cannot start: %s failed (%s):\n%s\nfix them and `cascade plan check %s`, or, as the release manager, `cascade release override-gate %s GATE --reason TEXT`",
		p.ID, plural.Count(len(failed), "gate"), strings.Join(failed, ", "), gatesText(gates), p.ID, p.ID)
	return e.refuse(ctx, 0, p.ID, actor, "start", map[string]any{"failed_gates": reasons}, err)
}

// worldChanging reports whether a step kind may act on the world: before
// it the window, freeze and scope gates are checked again. A check runs a
// command like run does, so it counts.
func worldChanging(kind string) bool {
	return kind == Run || kind == Check || kind == Tag || kind == Manual || kind == Verify
}

// recheck re-evaluates the window, freeze and scope gates before step s.
// A closed window makes the release wait (until the next window); a
// freeze or a scope change stops it. Either is recorded.
func (e *Engine) recheck(ctx context.Context, p *plan.Plan, st *Status, s *Step, actor string) (*Stop, error) {
	now := e.Now()
	gates, err := e.timeAndScopeGates(ctx, p, st.Manager)
	if err != nil {
		return nil, err
	}
	if lost, err := e.lostLocks(ctx, p, st); err != nil {
		return nil, err
	} else if lost != "" {
		gates = append([]plan.Gate{{Name: "lock", Status: plan.Fail, Reason: lost}}, gates...)
	}
	for _, g := range gates {
		if g.Status != plan.Fail {
			continue
		}
		details := map[string]any{"step": s.Index, "name": s.Name, "gate": g.Name, "reason": g.Reason}
		if g.Name == "window" {
			stop := &Stop{Step: s, Waiting: true, Message: fmt.Sprintf("step %d (%s) waits for a release window: %s", s.Index, s.Name, g.Reason)}
			if next, ok := plan.NextWindow(e.WS.Policy, now); ok {
				stop.Until = next
				details["until"] = next.UTC().Format(time.RFC3339)
			}
			err := e.activeTx(ctx, st, func(tx *store.Tx) error {
				return e.append(ctx, tx, st.ID, st.Plan, e.now(), actor, "wait", details)
			})
			if err == nil {
				err = e.recordHead(context.WithoutCancel(ctx), st.Plan)
			}
			return stop, err
		}
		msg := fmt.Sprintf("step %d (%s) is held: the %s gate fails: %s", s.Index, s.Name, g.Name, g.Reason)
		for _, d := range g.Details {
			msg += "\n  " + d
		}
		if g.Name == "lock" {
			msg += "\nnothing ran"
		} else {
			msg += fmt.Sprintf("\nnothing ran; fix it, or as the release manager `cascade release override-gate %s %s --reason TEXT`", p.ID, g.Name)
		}
		err := e.activeTx(ctx, st, func(tx *store.Tx) error {
			return e.append(ctx, tx, st.ID, st.Plan, e.now(), actor, "held", details)
		})
		if err == nil {
			err = e.recordHead(context.WithoutCancel(ctx), st.Plan)
		}
		return &Stop{Step: s, Held: true, Message: msg}, err
	}
	return nil, nil
}

// timeAndScopeGates are the window, freeze and scope gates of plan p
// now, with the overrides its manager signed, and a scope whose frozen
// heads are not the last signed re-freeze's held: what recheck decides
// from before every step that acts, and what a runbook's gate step
// reports.
func (e *Engine) timeAndScopeGates(ctx context.Context, p *plan.Plan, manager string) ([]plan.Gate, error) {
	ovs, err := e.decisionOverrides(ctx, p.ID, manager)
	if err != nil {
		return nil, err
	}
	gates, err := plan.TimeAndScopeGates(ctx, e.WS, e.G, p, e.Now(), ovs)
	if err != nil {
		return nil, err
	}
	return e.HoldUntrustedScope(ctx, p, gates)
}

// lostLocks says which of plan p's repos release st no longer holds the
// lock of ("" when it holds them all): an emergency unlock frees a repo
// for another release, so this one must not act on it again.
func (e *Engine) lostLocks(ctx context.Context, p *plan.Plan, st *Status) (string, error) {
	var lost []string
	for _, repo := range p.Repos() {
		var id int64
		err := e.Store.DB.QueryRowContext(ctx, "SELECT release_id FROM locks WHERE repo = ?", repo).Scan(&id)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return "", errkind.Wrap(errkind.Infra, err)
		}
		if err != nil || id != st.ID {
			lost = append(lost, repo)
		}
	}
	if len(lost) == 0 {
		return "", nil
	}
	return fmt.Sprintf("this release no longer holds the lock of %s (it was unlocked; another release may act on it): abort it (`cascade release abort %s --reason TEXT`) and start again once the repo is free", strings.Join(lost, ", "), p.ID), nil
}

// semverAtTag checks, right before a tag, that the version is a valid
// semantic version and that it promises what the changes need (unless the
// manager overrode the semver gate for this scope). It returns why not.
func (e *Engine) semverAtTag(ctx context.Context, p *plan.Plan, manager, repo string, d Data) (string, error) {
	if err := plan.ValidVersion(d.Version, plan.IsGoRepo(e.G, repo)); err != nil {
		return err.Error() + "; fix the plan (plan new --version REPO=VERSION)", nil
	}
	ovs, err := e.decisionOverrides(ctx, p.ID, manager)
	if err != nil {
		return "", err
	}
	if o := p.OverrideFor("semver", ovs); o != nil {
		return "", nil
	}
	var with []string
	for _, c := range p.Changes {
		if c.Repo != repo {
			with = append(with, c.Repo+"@"+c.Head)
		}
	}
	rep, err := semver.Check(ctx, e.G, semver.Options{Repo: repo, Head: d.Commit, Proposed: d.Version, CacheDir: e.CacheDir, With: with})
	if err != nil {
		if ctx.Err() != nil || errkind.Of(err) == errkind.Infra {
			return "", err
		}
		return fmt.Sprintf("cannot tell whether %s promises what the changes need: %v; nothing was tagged", d.Version, err), nil
	}
	for _, m := range rep.Modules {
		if !m.OK {
			return fmt.Sprintf("%s %s needs a %s release (%s), but the plan proposes %s: nothing was tagged; fix the plan's version", repo, m.Module, m.Required, m.Suggested, d.Version), nil
		}
	}
	return "", nil
}

// OverrideGate lets a failed gate of plan p pass for its current frozen
// scope: the release manager only, with a reason; recorded in the audit
// log and in the plan file.
func (e *Engine) OverrideGate(ctx context.Context, p *plan.Plan, gate, actor, reason string, save func(*plan.Plan) error) error {
	if !slices.Contains(plan.GateNames, gate) {
		return errkind.New(errkind.Invalid, "unknown gate %q; the gates are %s%s", gate, strings.Join(plan.GateNames, ", "), suggest.DidYouMean(gate, plan.GateNames, nil))
	}
	if err := reasonText(reason); err != nil {
		return err
	}
	if strings.TrimSpace(reason) == "" {
		return errkind.New(errkind.Invalid, "override-gate needs --reason TEXT: it is recorded in the audit log and the plan")
	}
	// While a release runs, its manager is the one recorded at start: an
	// edit of the plan file's manager: does not hand the release over.
	if err := e.checkHead(ctx, p); err != nil {
		return err
	}
	releaseID, manager, err := e.releaseManager(ctx, p)
	if err != nil {
		return err
	}
	if err := e.checkSignedScope(p); err != nil {
		return err
	}
	if actor != manager {
		err := errkind.New(errkind.Unauthorized, "only the release manager of %s (%s) may override its gates; %s may not", p.ID, manager, actor)
		return e.refuse(ctx, releaseID, p.ID, actor, "override-gate", map[string]any{"gate": gate}, err)
	}
	if err := e.gateFails(ctx, p, gate, manager); err != nil {
		return err
	}
	now := e.Now().UTC().Truncate(time.Second)
	o := plan.GateOverride{Gate: gate, By: actor, At: now, Reason: reason, Heads: p.HeadsKey()}
	err = e.storeTx(ctx, func(tx *store.Tx) error {
		return e.append(ctx, tx, releaseID, p.ID, e.now(), actor, "override-gate", map[string]any{"gate": gate, "reason": reason, "heads": o.Heads})
	})
	if err != nil {
		return err
	}
	if err := e.recordHead(ctx, p.ID); err != nil {
		return err
	}
	p.Overrides = append(p.Overrides, o)
	return save(p)
}

// gateFails returns nil when gate of plan p fails now, and otherwise an
// Invalid error saying why it cannot be overridden: an override waives a
// failure, and one given for a gate that passes would silently waive a
// later failure nobody has seen. The window, freeze, scope and manager
// gates are checked now; the semver, downstream and performance gates (as
// long to check as a release start) count as failing when the plan's last
// `plan check` for its current scope, or a start refused since its last
// re-freeze, found them failing.
func (e *Engine) gateFails(ctx context.Context, p *plan.Plan, gate, manager string) error {
	refuse := func(why string) error {
		return errkind.New(errkind.Invalid, "the %s gate of %s %s: an override lets a failed gate pass, so there is nothing to override and nothing was recorded; `cascade plan check %s` shows the gates", gate, p.ID, why, p.ID)
	}
	var now []plan.Gate
	switch gate {
	case "manager":
		now = []plan.Gate{plan.ManagerGate(p)}
	case "window", "freeze", "scope":
		gates, err := plan.TimeAndScopeGates(ctx, e.WS, e.G, p, e.Now(), nil)
		if err != nil {
			return err
		}
		if now, err = e.HoldUntrustedScope(ctx, p, gates); err != nil {
			return err
		}
	}
	for _, g := range now {
		if g.Name == gate {
			if g.Status == plan.Fail {
				return nil
			}
			return refuse(fmt.Sprintf("passes now (%s)", g.Reason))
		}
	}
	if now != nil {
		return refuse("is not checked for this plan")
	}
	for _, g := range p.RecordedGates() {
		if g.Name != gate {
			continue
		}
		switch g.Status {
		case plan.Fail:
			return nil
		case plan.Pass, plan.Warn:
			return refuse(fmt.Sprintf("passed its last check (%s)", g.Reason))
		}
	}
	entries, err := e.Store.Entries(ctx, p.ID)
	if err != nil {
		return err
	}
	for i := len(entries) - 1; i >= 0; i-- {
		en := entries[i]
		if en.Action == "rescope" {
			break
		}
		if failed, ok := en.Details["failed_gates"].(map[string]any); ok && en.Action == "start refused" {
			if _, ok := failed[gate]; ok {
				return nil
			}
			return refuse("passed when the release last tried to start")
		}
	}
	return refuse("has not failed for the plan's current scope (no `cascade plan check` or `cascade release start` found it failing)")
}

// GateOverrides lists the plan's gate overrides from the audit log.
func (e *Engine) GateOverrides(ctx context.Context, planID string) ([]plan.GateOverride, error) {
	entries, err := e.Store.Entries(ctx, planID)
	if err != nil {
		return nil, err
	}
	var out []plan.GateOverride
	for _, en := range entries {
		if en.Action != "override-gate" {
			continue
		}
		out = append(out, overrideOf(en))
	}
	return out, nil
}

// PlanOverrides are the gate overrides that hold for plan p now: those of
// the manager recorded at start while a release runs, else of the plan's
// manager, read from the audit log (see decisionOverrides).
func (e *Engine) PlanOverrides(ctx context.Context, p *plan.Plan) ([]plan.GateOverride, error) {
	_, manager, err := e.releaseManager(ctx, p)
	if err != nil {
		return nil, err
	}
	return e.decisionOverrides(ctx, p.ID, manager)
}

// releaseManager is who manages plan p now: while a release runs, the
// manager who signed its start (the releases row is checked against the
// audit log: an edited row is refused as tampered), else the plan's
// manager. releaseID is the plan's latest release (0 if none).
func (e *Engine) releaseManager(ctx context.Context, p *plan.Plan) (releaseID int64, manager string, err error) {
	id, state, _, err := e.latest(ctx, e.Store.DB, p.ID)
	if err != nil {
		if k := errkind.Of(err); k == errkind.Invalid || k == errkind.NotFound {
			return 0, p.Manager, nil
		}
		return 0, "", errkind.Wrap(errkind.Infra, err)
	}
	if state != Active {
		return id, p.Manager, nil
	}
	st, err := e.trustedStatus(ctx, p.ID)
	if err != nil {
		return 0, "", err
	}
	return st.ID, st.Manager, nil
}

// decisionOverrides are the gate overrides a decision may honour: the
// audit log's override-gate entries of the plan made by manager (the
// manager recorded at release start, or the one starting it) whose
// signature verifies when the workspace lists people. An entry that does
// not verify is skipped and named in the log output. The plan file's
// `overrides:` list is for review only and never read here.
func (e *Engine) decisionOverrides(ctx context.Context, planID, manager string) ([]plan.GateOverride, error) {
	entries, problems, err := e.planLog(ctx, planID)
	if err != nil {
		return nil, err
	}
	var out []plan.GateOverride
	for _, en := range entries {
		if en.Action != "override-gate" || en.Actor != manager {
			continue
		}
		if problem := problems[en.Seq]; problem != "" {
			e.logf("cascade: ignoring a gate override: %s", problem)
			continue
		}
		out = append(out, overrideOf(en))
	}
	return out, nil
}

// overrideOf reads a gate override from its audit entry.
func overrideOf(en store.Entry) plan.GateOverride {
	at, _ := time.Parse(time.RFC3339Nano, en.At)
	g, _ := en.Details["gate"].(string)
	r, _ := en.Details["reason"].(string)
	h, _ := en.Details["heads"].(string)
	return plan.GateOverride{Gate: g, By: en.Actor, At: at, Reason: r, Heads: h}
}
