package release

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/runbook"
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/verify"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Stop says why Next stopped.
type Stop struct {
	// Done is true when the release finished.
	Done bool
	// Step is the step it stopped at, Message what a person must do.
	Step    *Step
	Message string
	// Waiting is true when the release waits for a release window, which
	// opens at Until (zero if none is known).
	Waiting bool
	Until   time.Time
	// Held is true when a gate (freeze, scope) stopped the release.
	Held bool
	// Person is true when the release waits for a person: a manual step
	// to do and confirm, or an interrupted step whose result only a
	// person can tell.
	Person bool
}

// Next runs automated steps until a step needs a person, fails, or the
// release ends. A step found running from a process that died is marked
// interrupted: an idempotent one is run again, another waits for a person.
//
// Every transition (a step's start, its end, a tag, the release's end, a
// wait or hold) is written only in a transaction that finds this runner
// still holding its lease on an active release. A release aborted, or a
// lease taken over, while a step runs stops the step (its processes are
// killed): after an abort the step is recorded as interrupted and Next
// returns a Conflict; after a takeover Next writes nothing more.
func (e *Engine) Next(ctx context.Context, p *plan.Plan, actor string) (Stop, error) {
	st, err := e.trustedStatus(ctx, p.ID)
	if err != nil {
		return Stop{}, err
	}
	if err := requireActive(st); err != nil {
		return Stop{}, err
	}
	if err := requireManager(st, actor, "run its steps"); err != nil {
		return Stop{}, e.refuse(ctx, st.ID, st.Plan, actor, "next", nil, err)
	}
	ctx, giveBack, err := e.acquireLease(ctx, st, actor)
	if err != nil {
		return Stop{}, err
	}
	defer giveBack()
	e.runner = actor
	stop, err := e.next(ctx, p, st, actor)
	if s := asStopped(ctx, err); s != nil {
		return Stop{}, errkind.Wrap(errkind.Conflict, s)
	}
	return stop, err
}

func (e *Engine) next(ctx context.Context, p *plan.Plan, st *Status, actor string) (Stop, error) {
	var err error
	// What the steps must be: the plan's runbooks at the frozen heads.
	// Each step is compared with it before it is acted on.
	planned, err := e.plannedSteps(ctx, p)
	if err != nil {
		return Stop{}, err
	}
	// Steps left running by a runner that died were interrupted.
	for i := range st.Steps {
		s := &st.Steps[i]
		if s.State == Running {
			if err := e.transition(ctx, st, s, []string{Running}, Interrupted, e.recorder(), "interrupted", map[string]any{"note": "the process running it stopped"}, nil); err != nil {
				return Stop{}, err
			}
			e.logf("step %d (%s) was interrupted when the process running it stopped", s.Index, s.Name)
		}
	}
	for {
		st, err = e.trustedStatus(ctx, p.ID)
		if err != nil {
			return Stop{}, err
		}
		s := current(st)
		if s == nil {
			if err := e.finishIfDone(ctx, p.ID, actor); err != nil {
				return Stop{}, err
			}
			return Stop{Done: true, Message: "the release of " + p.ID + " is done"}, nil
		}
		switch s.State {
		case Failed:
			return Stop{Step: s, Message: fmt.Sprintf("step %d (%s) failed; fix the cause and `cascade release retry %s %d`, or skip it with `cascade release override %s %d --reason TEXT`", s.Index, s.Name, p.ID, s.Index, p.ID, s.Index)}, nil
		case Interrupted:
			if !s.Spec.Idempotent {
				done := fmt.Sprintf("`cascade release confirm %s %d` if it is done", p.ID, s.Index)
				if !confirmable(s.Kind) {
					done = fmt.Sprintf("`cascade release override %s %d --reason TEXT` if it is done (its result is unknown: a reason is recorded)", p.ID, s.Index)
				}
				return Stop{Step: s, Person: true, Message: fmt.Sprintf("step %d (%s) was interrupted and may have run in part; check what happened, then %s, or `cascade release retry %s %d` to run it again", s.Index, s.Name, done, p.ID, s.Index)}, nil
			}
			if err := e.transition(ctx, st, s, []string{Interrupted}, Pending, e.recorder(), "retry", map[string]any{"note": "idempotent: run again after an interruption"}, nil); err != nil {
				return Stop{}, err
			}
			continue
		}
		if why := stepMismatch(planned, len(st.Steps), s); why != "" {
			return e.holdTampered(ctx, p, st, s, actor, why)
		}
		d := s.data
		d.Inputs = inputsOf(st)
		if worldChanging(s.Kind) || s.Kind == Wait || s.Kind == Gate {
			stop, err := e.recheck(ctx, p, st, s, actor)
			if err != nil {
				return Stop{}, err
			}
			if stop != nil {
				return *stop, nil
			}
		}
		switch s.Kind {
		case Manual:
			text, _ := runbook.Text(s.Spec.Text, d)
			msg := fmt.Sprintf("step %d (%s) is for a person: %s\nWhen it is done, %s confirms: cascade release confirm %s %d", s.Index, s.Name, text, st.Manager, p.ID, s.Index)
			for _, in := range s.Spec.Inputs {
				msg += fmt.Sprintf(" --input %s=VALUE", in)
			}
			return Stop{Step: s, Person: true, Message: msg}, nil
		case Wait:
			// recheck above made it wait for a window, or held it for
			// a freeze or the scope: the window is open now.
		}
		if err := e.execute(ctx, p, st, s, d, actor); err != nil {
			return Stop{}, err
		}
	}
}

// holdTampered stops the release at step s because the steps table does
// not match the plan (recorded as held): nothing runs.
func (e *Engine) holdTampered(ctx context.Context, p *plan.Plan, st *Status, s *Step, actor, why string) (Stop, error) {
	details := map[string]any{"step": s.Index, "name": s.Name, "reason": why}
	err := e.activeTx(ctx, st, func(tx *store.Tx) error {
		return e.append(ctx, tx, st.ID, st.Plan, e.now(), actor, "held", details)
	})
	if err == nil {
		err = e.recordHead(context.WithoutCancel(ctx), st.Plan)
	}
	msg := fmt.Sprintf("step %d (%s) is held: %s\nnothing ran; the release's steps were changed after it started: abort it (`cascade release abort %s --reason TEXT`) and start again", s.Index, s.Name, why, p.ID)
	return Stop{Step: s, Held: true, Message: msg}, err
}

func inputsOf(st *Status) map[string]string {
	in := map[string]string{}
	for _, s := range st.Steps {
		for k, v := range s.Inputs {
			in[k] = v
		}
	}
	return in
}

// execute runs one automated step: running (committed), the work, then
// succeeded or failed (committed).
func (e *Engine) execute(ctx context.Context, p *plan.Plan, st *Status, s *Step, d Data, actor string) error {
	if err := e.transition(ctx, st, s, []string{Pending}, Running, actor, "step start", nil, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE steps SET runs = runs + 1 WHERE release_id = ? AND idx = ?", st.ID, s.Index)
		return err
	}); err != nil {
		return err
	}
	e.crashpoint("step-started")
	e.logf("step %d: %s", s.Index, s.Name)
	ok, output, exit, err := e.work(ctx, p, st.Manager, s, d)
	if err != nil {
		if stop := asStopped(ctx, err); stop != nil {
			return e.stopStep(ctx, st, s, stop, output, -1)
		}
		return err
	}
	e.crashpoint("step-executed")
	to := Succeeded
	if !ok {
		to = Failed
	}
	kept := tail(output)
	details := map[string]any{"exit": exit, "output_sha256": outputHash(kept)}
	if err := e.transition(ctx, st, s, []string{Running}, to, actor, "step end", details, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE steps SET output = ? WHERE release_id = ? AND idx = ?", kept, st.ID, s.Index)
		return err
	}); err != nil {
		if stop := asStopped(ctx, err); stop != nil {
			return e.stopStep(ctx, st, s, stop, output, exit)
		}
		return err
	}
	e.crashpoint("step-finished")
	return nil
}

// recorder is the actor of the entries a run writes on its own (a step
// found interrupted, an interrupted idempotent step set to run again):
// with people, the person running it, who signs each one as it is
// written, so no unsigned entry can move a step; without people,
// "cascade".
func (e *Engine) recorder() string {
	if e.Signature != nil && e.runner != "" {
		return e.runner
	}
	return workspace.ReservedActor
}

// stopStep ends step s, which this runner started, when the runner must
// stop (see Next): a runner that lost its lease writes nothing (the new
// runner finds the step running and marks it interrupted); in a release
// no longer active, the step is recorded as interrupted, with what it
// printed, so the log says it did not finish. It returns stop.
// exit is the work's exit code when it ended, -1 when it was stopped.
func (e *Engine) stopStep(ctx context.Context, st *Status, s *Step, stop *stopped, output string, exit int) error {
	if stop.lost {
		return stop
	}
	bg := context.WithoutCancel(ctx)
	note := fmt.Sprintf("the release was %s while the step ran: it was stopped, its processes killed", stop.state)
	if exit >= 0 {
		note = fmt.Sprintf("the release was %s while the step ran; it ended (exit %d), but that is not its recorded result", stop.state, exit)
	}
	kept := tail(output)
	details := map[string]any{"note": note, "step": s.Index, "name": s.Name, "repo": s.Repo, "state": Interrupted, "output_sha256": outputHash(kept)}
	err := e.storeTx(bg, func(tx *store.Tx) error {
		// Only while this runner still holds the lease, whatever the
		// release's state, and only a step still running.
		var token string
		if err := tx.QueryRowContext(bg, "SELECT coalesce(lease_token, '') FROM releases WHERE id = ?", st.ID).Scan(&token); err != nil {
			return err
		}
		if e.lease == nil || token != e.lease.token {
			return nil
		}
		res, err := tx.ExecContext(bg, "UPDATE steps SET state = ?, actor = ?, at = ?, output = ? WHERE release_id = ? AND idx = ? AND state = ?", Interrupted, e.recorder(), e.now(), kept, st.ID, s.Index, Running)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		return e.append(bg, tx, st.ID, st.Plan, e.now(), e.recorder(), "interrupted", details)
	})
	if err != nil {
		return err
	}
	e.logf("step %d (%s) was stopped: %s", s.Index, s.Name, note)
	if err := e.recordHead(bg, st.Plan); err != nil {
		return err
	}
	return stop
}

func tail(s string) string {
	const max = 8 << 10
	if len(s) > max {
		return "...\n" + s[len(s)-max:]
	}
	return s
}

// commandText is a step's command as a person would type it: a list's
// words each quoted for a shell when they need it.
func commandText(c sandbox.Cmd) string {
	if c.Shell != "" {
		return c.Shell
	}
	words := make([]string, len(c.Args))
	for i, a := range c.Args {
		words[i] = runbook.Word(a)
	}
	return strings.Join(words, " ")
}

// outputHash is the SHA-256 of what a step printed as the steps table
// keeps it: its entry carries it, so the output status and log show is
// the one the signed entry vouches for.
func outputHash(kept string) string {
	sum := sha256.Sum256([]byte(kept))
	return hex.EncodeToString(sum[:])
}

// work does a step's work and says whether it succeeded, with its output.
func (e *Engine) work(ctx context.Context, p *plan.Plan, manager string, s *Step, d Data) (ok bool, output string, exit int, err error) {
	i, err := e.G.Lookup(s.Repo)
	if err != nil {
		return false, "", -1, err
	}
	repo := e.G.Repos[i]
	switch s.Kind {
	case Run, Check:
		cmd := sandbox.Cmd{Env: runbook.Env(d)}
		var rerr error
		if len(s.Spec.Argv) > 0 {
			cmd.Args, rerr = runbook.Argv(s.Spec.Argv, d)
		} else {
			cmd.Shell, rerr = runbook.Shell(s.Spec.Text, d)
		}
		if rerr != nil {
			return false, rerr.Error(), -1, nil
		}
		sl, err := sandbox.AcquireSlot(e.CacheDir, "release")
		if err != nil {
			return false, "", -1, err
		}
		defer sl.Release()
		dir := filepath.Join(sl.Dir, s.Repo)
		if err := repo.Git.Extract(ctx, d.Commit, dir); err != nil {
			return false, "", -1, err
		}
		attempts := s.Spec.Attempts
		if attempts <= 0 {
			attempts = 1
		}
		timeout := s.Spec.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Minute
		}
		var b strings.Builder
		for a := 1; a <= attempts; a++ {
			res, err := sandbox.Run(ctx, e.stepCmd(s.Spec, cmd, dir, timeout))
			if err != nil {
				return false, b.String() + res.Output, -1, err
			}
			fmt.Fprintf(&b, "$ %s  (attempt %d of %d)\n%s", commandText(cmd), a, attempts, res.Output)
			if res.Note != "" {
				fmt.Fprintf(&b, "[sandbox: %s]\n", res.Note)
			}
			if res.StartErr != nil {
				fmt.Fprintf(&b, "could not run: %v\n", res.StartErr)
			}
			if res.TimedOut {
				fmt.Fprintf(&b, "timed out after %s\n", timeout)
			}
			if res.OK() {
				return true, b.String(), 0, nil
			}
			exit = res.ExitCode
			if a < attempts && s.Spec.Every > 0 {
				select {
				case <-time.After(s.Spec.Every):
				case <-ctx.Done():
					return false, b.String(), -1, ctx.Err()
				}
			}
		}
		return false, b.String(), exit, nil
	case Tag:
		if d.Version == "" {
			return false, "the plan proposes no version for " + s.Repo + " (plan new --version REPO=VERSION)", -1, nil
		}
		why, err := e.semverAtTag(ctx, p, manager, s.Repo, d)
		if err != nil {
			return false, "", -1, err
		}
		if why != "" {
			return false, why, 1, nil
		}
		// The tag is the release's point of no return: read once more
		// that this runner holds an active release.
		if err := e.held(ctx, e.Store.DB); err != nil {
			return false, "", -1, err
		}
		err = repo.Git.TagAt(ctx, d.Version, d.Commit, "Release "+d.Version+" ("+d.Plan+")", gitrepo.Author{Name: "cascade", Email: "cascade@localhost"}, e.Now())
		if err != nil {
			if errkind.Of(err) == errkind.Conflict {
				return false, err.Error(), 1, nil
			}
			return false, "", -1, err
		}
		if repo.URL == "" {
			return true, fmt.Sprintf("tagged %s at %s in %s", d.Version, d.Commit[:12], repo.Git.Dir()), 0, nil
		}
		// A mirrored repo: the tag must reach the real remote, and the
		// remote's refs say whether it did.
		if err := repo.Git.PushTag(ctx, repo.URL, d.Version); err != nil {
			if errkind.Of(err) == errkind.Problem {
				return false, err.Error(), 1, nil
			}
			return false, "", -1, err
		}
		got, err := repo.Git.RemoteTagCommit(ctx, repo.URL, d.Version)
		if err != nil {
			return false, "", -1, err
		}
		if got != d.Commit {
			return false, fmt.Sprintf("pushed tag %s to %s, but the remote's tag points at %q, not %s", d.Version, repo.URL, got, d.Commit[:12]), 1, nil
		}
		return true, fmt.Sprintf("tagged %s at %s and pushed it to %s (the remote's refs/tags/%s is %s)", d.Version, d.Commit[:12], repo.URL, d.Version, got[:12]), 0, nil
	case Gate:
		var lines []string
		okAll := true
		gates, err := e.timeAndScopeGates(ctx, p, manager)
		if err != nil {
			return false, "", -1, err
		}
		for _, g := range gates {
			lines = append(lines, fmt.Sprintf("%s: %s %s", g.Name, g.Status, g.Reason))
			lines = append(lines, g.Details...)
			okAll = okAll && g.Status != plan.Fail
		}
		return okAll, strings.Join(lines, "\n"), boolExit(okAll), nil
	case Verify:
		// What was just released, with the rest of the change set as it
		// ships: regressions in that state fail the step.
		vo := verify.Options{Upstream: s.Repo + "@" + d.Commit, CacheDir: e.CacheDir, Retries: 2}
		for _, c := range p.Changes {
			if c.Repo != s.Repo {
				vo.With = append(vo.With, c.Repo+"@"+c.Head)
			}
		}
		rep, err := verify.Verify(ctx, e.G, vo)
		if err != nil {
			if errkind.Of(err) == errkind.Invalid {
				return false, err.Error(), -1, nil
			}
			return false, "", -1, err
		}
		// A regression in the state that ships, or anything that could not
		// be verified, fails the step.
		status, _ := verify.Assess(rep).Gate()
		failed := status == verify.GateFail
		out, _ := json.Marshal(rep.Summary)
		return !failed, rep.Conclusion + "\n" + string(out), boolExit(!failed), nil
	case Wait:
		return true, "inside a release window", 0, nil
	}
	return false, "", -1, errkind.New(errkind.Invalid, "unknown step kind %q", s.Kind)
}

func boolExit(ok bool) int {
	if ok {
		return 0
	}
	return 1
}

// stepCmd is the sandboxed command of a run or check step (cmd: its
// program or shell text and the template values as variables): its tree
// writable and nothing else of the machine, the network only when the
// step says `network: true`, and of cascade's environment only the
// variables the step names in `env:`.
func (e *Engine) stepCmd(spec Spec, cmd sandbox.Cmd, dir string, timeout time.Duration) sandbox.Cmd {
	cmd.Env = append([]string(nil), cmd.Env...)
	for _, name := range spec.Env {
		if e.LookupEnv == nil {
			break
		}
		if v, ok := e.LookupEnv(name); ok {
			cmd.Env = append(cmd.Env, name+"="+v)
		}
	}
	cmd.Dir, cmd.Timeout, cmd.Writable, cmd.Network = dir, timeout, []string{dir}, spec.Network
	return cmd
}
