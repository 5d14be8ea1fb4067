package jobs

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/verify"
)

// verifyWorker works verification jobs.
type verifyWorker struct {
	river.WorkerDefaults[VerifyArgs]
	s *System
}

func (w *verifyWorker) Timeout(*river.Job[VerifyArgs]) time.Duration { return w.s.cfg.JobTimeout }

func (w *verifyWorker) Work(ctx context.Context, job *river.Job[VerifyArgs]) error {
	return w.s.work(ctx, job.ID, job.Args.RunID, job.Attempt, job.MaxAttempts)
}

// errLeaseLost is a run taken over by another job while this one worked
// it (its lease expired).
var errLeaseLost = errors.New("the run's lease was lost")

func (s *System) work(ctx context.Context, jobID, runID int64, attempt, maxAttempts int) error {
	token := newToken()
	run, wait, err := s.claim(ctx, runID, jobID, token)
	switch {
	case err != nil:
		return err
	case wait > 0:
		return river.JobSnooze(wait)
	case run == nil:
		return nil // finished already, by an earlier job
	}
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	hbDone := make(chan struct{})
	go func() {
		defer close(hbDone)
		s.heartbeat(wctx, runID, token, cancel)
	}()
	var (
		rep  *verify.Report
		verr error
	)
	if s.cfg.Hooks.Started != nil {
		verr = s.cfg.Hooks.Started(wctx, runID)
	}
	if verr == nil {
		rep, verr = s.verifyRun(wctx, *run)
	}
	cancel(nil)
	<-hbDone
	bg := context.WithoutCancel(ctx)
	if verr == nil {
		var b bytes.Buffer
		if err := report.JSON(&b, rep); err != nil {
			verr = err
		} else {
			o := verify.Assess(rep)
			err := s.finish(bg, runID, token, StateDone, b.String(), &o.Exit, o.Conclusion, "")
			if errors.Is(err, errLeaseLost) {
				return nil
			}
			return err
		}
	}
	if errors.Is(context.Cause(wctx), errLeaseLost) {
		return nil // another job works the run now
	}
	reason := verr.Error()
	if errors.Is(verr, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		reason = fmt.Sprintf("the verification took longer than the job timeout (%s): %v", s.cfg.JobTimeout, verr)
	}
	k := errkind.Of(verr)
	if k == errkind.Invalid || k == errkind.NotFound || attempt >= maxAttempts {
		// Bad input does not get better on a retry; the last attempt's
		// failure is the run's.
		if attempt >= maxAttempts && k != errkind.Invalid && k != errkind.NotFound {
			reason = fmt.Sprintf("gave up after %d attempts: %s", attempt, reason)
		}
		if err := s.finish(bg, runID, token, StateError, "", nil, "", reason); err != nil && !errors.Is(err, errLeaseLost) {
			return err
		}
		return river.JobCancel(verr)
	}
	// Hand the run back: the job's next attempt (after a restart, if
	// this process is stopping) claims it at once.
	s.release(bg, runID, token)
	return verr
}

// verifyRun verifies what run asks, writing its progress as events.
func (s *System) verifyRun(ctx context.Context, run Run) (*verify.Report, error) {
	_, g, err := s.loadGraph(ctx)
	if err != nil {
		return nil, err
	}
	opt := s.verifyOptions(run, "")
	opt.Progress = func(p verify.Progress) {
		payload := map[string]any{"repo": p.Repo, "state": p.State, "done": p.Done, "total": p.Total}
		kind := EventPairStarted
		if r := p.Result; r != nil {
			kind = EventPairFinished
			payload["verdict"], payload["baseline"], payload["candidate"] = r.Verdict, r.Baseline, r.Candidate
			payload["duration_ms"], payload["cached"] = r.DurationMS, r.Cached
		}
		s.event(ctx, run.ID, kind, p.Repo+" "+p.State, payload)
	}
	return verify.Verify(ctx, g, opt)
}

// event writes one progress event in its own transaction and publishes
// it. Progress is not worth failing a run for: an error is logged.
func (s *System) event(ctx context.Context, runID int64, kind, pair string, payload any) {
	var (
		e  Event
		ok bool
	)
	s.eventMu.Lock()
	defer s.eventMu.Unlock()
	err := s.st.Tx(ctx, func(tx *store.Tx) error {
		var err error
		e, ok, err = s.addEvent(ctx, tx, runID, kind, pair, payload)
		return err
	})
	if err != nil {
		s.cfg.Logger.Warn("could not record a verification event", "run", runID, "kind", kind, "err", err)
		return
	}
	if ok {
		s.publish(e)
	}
}

// claim takes run id for this job. It returns the run to work; or nil
// with wait 0 when there is nothing to do (the run is finished); or a
// wait when a live process holds the run's lease.
func (s *System) claim(ctx context.Context, id, jobID int64, token string) (*Run, time.Duration, error) {
	var (
		run     Run
		wait    time.Duration
		claimed bool
		ev      Event
	)
	now := s.cfg.Now().UTC()
	err := s.st.Tx(ctx, func(tx *store.Tx) error {
		var (
			state                   string
			started, lease, expires sql.NullString
			host, kernel, pstart    sql.NullString
			pid                     sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, `SELECT state, started, lease_token, lease_expires, runner_host, runner_kernel, runner_pid, runner_started
			FROM verification_runs WHERE id = ?`, id).Scan(&state, &started, &lease, &expires, &host, &kernel, &pid, &pstart)
		if errors.Is(err, sql.ErrNoRows) {
			s.cfg.Logger.Warn("a verification job names a run that does not exist", "run", id, "job", jobID)
			return nil
		}
		if err != nil {
			return wrapInfra(err)
		}
		if state != StateQueued && state != StateRunning {
			return nil
		}
		if lease.Valid {
			holder := process{Host: host.String, Kernel: kernel.String, Pid: int(pid.Int64), Started: pstart.String}
			exp := parseTime(expires.String)
			dead := holder.sameMachine(s.me) && !holder.running()
			if !dead && now.Before(exp) {
				wait = max(exp.Sub(now), time.Second)
				return nil
			}
		}
		_, err = tx.ExecContext(ctx, `UPDATE verification_runs SET state = ?, started = COALESCE(started, ?), attempts = attempts + 1,
			job_id = ?, lease_token = ?, lease_expires = ?, runner_host = ?, runner_kernel = ?, runner_pid = ?, runner_started = ?
			WHERE id = ?`, StateRunning, formatTime(now), jobID, token, formatTime(now.Add(s.cfg.LeaseTTL)),
			s.me.Host, s.me.Kernel, s.me.Pid, s.me.Started, id)
		if err != nil {
			return wrapInfra(err)
		}
		run, err = scanRun(tx.QueryRowContext(ctx, "SELECT "+runColumns+" FROM verification_runs WHERE id = ?", id))
		if err != nil {
			return wrapInfra(err)
		}
		ev, _, err = s.addEvent(ctx, tx, id, EventRunStarted, "", map[string]any{"attempt": run.Attempts, "resumed": started.Valid})
		claimed = err == nil
		return err
	})
	if err != nil || !claimed {
		return nil, wait, err
	}
	s.publish(ev)
	return &run, 0, nil
}

// heartbeat renews the run's lease until ctx ends; a lease another job
// took over cancels the work with errLeaseLost.
func (s *System) heartbeat(ctx context.Context, id int64, token string, cancel context.CancelCauseFunc) {
	t := time.NewTicker(s.cfg.LeaseTTL / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var n int64
		err := s.st.Tx(ctx, func(tx *store.Tx) error {
			res, err := tx.ExecContext(ctx, "UPDATE verification_runs SET lease_expires = ? WHERE id = ? AND lease_token = ? AND state = ?",
				formatTime(s.cfg.Now().Add(s.cfg.LeaseTTL)), id, token, StateRunning)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		switch {
		case err != nil && ctx.Err() == nil:
			s.cfg.Logger.Warn("could not renew a verification run's lease", "run", id, "err", err)
		case err == nil && n == 0:
			cancel(errLeaseLost)
			return
		}
	}
}

// finish writes a run's outcome in one transaction, only while the run is
// running under this job's lease (so it is written once), with its
// run_finished event.
func (s *System) finish(ctx context.Context, id int64, token, state, rep string, exit *int, conclusion, reason string) error {
	var ev Event
	err := s.st.Tx(ctx, func(tx *store.Tx) error {
		var repArg, conclArg, reasonArg any
		if rep != "" {
			repArg = rep
		}
		if conclusion != "" {
			conclArg = conclusion
		}
		if reason != "" {
			reasonArg = reason
		}
		q := `UPDATE verification_runs SET state = ?, finished = ?, report = ?, exit_class = ?, conclusion = ?, reason = ?,
			lease_token = NULL, lease_expires = NULL, runner_host = NULL, runner_kernel = NULL, runner_pid = NULL, runner_started = NULL
			WHERE id = ? AND state IN (?, ?)`
		args := []any{state, formatTime(s.cfg.Now()), repArg, exit, conclArg, reasonArg, id, StateQueued, StateRunning}
		if token != "" {
			q += " AND lease_token = ?"
			args = append(args, token)
		}
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return wrapInfra(err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return errLeaseLost
		}
		payload := map[string]any{"state": state}
		if exit != nil {
			payload["exit_class"] = *exit
		}
		if conclusion != "" {
			payload["conclusion"] = conclusion
		}
		if reason != "" {
			payload["reason"] = reason
		}
		ev, _, err = s.addEvent(ctx, tx, id, EventRunFinished, "", payload)
		return err
	})
	if err != nil {
		return err
	}
	s.publish(ev)
	return nil
}

// fail marks a run that has no live job as an error.
func (s *System) fail(ctx context.Context, id int64, token, reason string) {
	if err := s.finish(ctx, id, token, StateError, "", nil, "", reason); err != nil && !errors.Is(err, errLeaseLost) {
		s.cfg.Logger.Error("could not mark a verification run as failed", "run", id, "err", err)
	}
}

// release gives a run's lease up, leaving it running for the next job.
func (s *System) release(ctx context.Context, id int64, token string) {
	err := s.st.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE verification_runs SET lease_token = NULL, lease_expires = NULL, runner_host = NULL,
			runner_kernel = NULL, runner_pid = NULL, runner_started = NULL WHERE id = ? AND lease_token = ?`, id, token)
		return err
	})
	if err != nil {
		s.cfg.Logger.Warn("could not hand back a verification run", "run", id, "err", err)
	}
}

// recover looks at every unfinished run once: a run whose job is gone,
// or whose job is recorded as running by a process of this machine that
// no longer runs (or by one whose lease ran out), gets a new job at once;
// a run whose job River gave up is marked error.
func (s *System) recover(ctx context.Context) error {
	type pending struct {
		id      int64
		jobID   sql.NullInt64
		lease   sql.NullString
		expires sql.NullString
		holder  process
	}
	rows, err := s.st.DB.QueryContext(ctx, `SELECT id, job_id, lease_token, lease_expires, runner_host, runner_kernel, runner_pid, runner_started
		FROM verification_runs WHERE state IN (?, ?) ORDER BY id`, StateQueued, StateRunning)
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	var todo []pending
	for rows.Next() {
		var (
			p                    pending
			host, kernel, pstart sql.NullString
			pid                  sql.NullInt64
		)
		if err := rows.Scan(&p.id, &p.jobID, &p.lease, &p.expires, &host, &kernel, &pid, &pstart); err != nil {
			rows.Close()
			return errkind.Wrap(errkind.Infra, err)
		}
		p.holder = process{Host: host.String, Kernel: kernel.String, Pid: int(pid.Int64), Started: pstart.String}
		todo = append(todo, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	now := s.cfg.Now()
	for _, p := range todo {
		var job *rivertype.JobRow
		if p.jobID.Valid {
			job, err = s.client.JobGet(ctx, p.jobID.Int64)
			if err != nil && !errors.Is(err, river.ErrNotFound) {
				return errkind.Wrap(errkind.Infra, fmt.Errorf("jobs: reading job %d of run %d: %w", p.jobID.Int64, p.id, err))
			}
		}
		requeue := false
		switch {
		case job == nil:
			requeue = true
		case job.State == rivertype.JobStateRunning:
			lost := p.lease.Valid && ((p.holder.sameMachine(s.me) && !p.holder.running()) || !now.Before(parseTime(p.expires.String)))
			requeue = lost || (!p.lease.Valid && jobHolderGone(job, s.me))
		case job.State == rivertype.JobStateCompleted || job.State == rivertype.JobStateCancelled || job.State == rivertype.JobStateDiscarded:
			reason := fmt.Sprintf("its job ended (%s) without finishing it", job.State)
			if n := len(job.Errors); n > 0 {
				reason = fmt.Sprintf("its job was given up (%s) after %d attempts: %s", job.State, job.Attempt, job.Errors[n-1].Error)
			}
			s.fail(ctx, p.id, "", reason)
		}
		if requeue {
			s.cfg.Logger.Info("queueing an interrupted verification run again", "run", p.id)
			if err := s.enqueue(ctx, p.id); err != nil {
				return err
			}
		}
	}
	return nil
}

// jobHolderGone reports whether a running job's last attempt was made by
// a process of this machine that no longer runs, read from River's client
// id ("cascade-HOST-PID-RANDOM"). It cannot tell a pid reused since, so
// it is only asked when the run holds no lease (the job died before it
// claimed the run).
func jobHolderGone(job *rivertype.JobRow, me process) bool {
	if len(job.AttemptedBy) == 0 {
		return false
	}
	var pid int
	last := job.AttemptedBy[len(job.AttemptedBy)-1]
	prefix := "cascade-" + me.Host + "-"
	if len(last) <= len(prefix) || last[:len(prefix)] != prefix {
		return false
	}
	if _, err := fmt.Sscanf(last[len(prefix):], "%d-", &pid); err != nil || pid <= 0 {
		return false
	}
	return !process{Pid: pid}.running()
}

func newToken() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
