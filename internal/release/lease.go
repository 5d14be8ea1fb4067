package release

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/procinfo"
	"github.com/cascade-dev/cascade/internal/store"
)

// DefaultLeaseTTL is how long a runner's lease on a release lasts without
// a heartbeat; a runner renews it every third of that.
const DefaultLeaseTTL = 2 * time.Minute

// DefaultWatchEvery is how often a runner reads its release's state while
// it works: an abort, or the loss of its lease, stops the step it runs
// within about this long.
const DefaultWatchEvery = time.Second

func (e *Engine) leaseTTL() time.Duration {
	if e.LeaseTTL > 0 {
		return e.LeaseTTL
	}
	return DefaultLeaseTTL
}

func (e *Engine) watchEvery() time.Duration {
	every := DefaultWatchEvery
	if e.WatchEvery > 0 {
		every = e.WatchEvery
	}
	return min(every, e.leaseTTL()/3)
}

// process is a runner process as its lease records it.
type process struct {
	// Runner is "pid@host", for people.
	Runner string
	Host   string
	// Kernel is the boot id and pid namespace the process runs under: a
	// pid names the same process only under the same kernel and namespace
	// ("" when this system does not say).
	Kernel string
	Pid    int
	// Started is the process's start time (clock ticks after boot, from
	// /proc/PID/stat): a pid reused by a later process starts later ("" when
	// unknown).
	Started string
}

// thisProcess describes the running process.
func thisProcess() process {
	host, _ := os.Hostname()
	pid := os.Getpid()
	return process{Runner: fmt.Sprintf("%d@%s", pid, host), Host: host, Kernel: procinfo.KernelID(), Pid: pid, Started: startTime(pid)}
}

func startTime(pid int) string {
	_, started, _ := procinfo.Stat(pid)
	return started
}

// running reports whether the process a lease names still runs here (it
// may be stopped, as by Ctrl-Z or a debugger: that is running too). A
// zombie, or a pid now used by a process that started later, is gone.
func (p process) running() bool {
	if p.Pid <= 0 {
		return false
	}
	if _, err := os.Stat("/proc/self/stat"); err == nil {
		state, started, ok := procinfo.Stat(p.Pid)
		if !ok || state == "Z" || state == "X" {
			return false
		}
		return p.Started == "" || started == p.Started
	}
	err := syscall.Kill(p.Pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// sameMachine reports whether a lease's holder runs where this process
// can see it: the same host, kernel and pid namespace.
func (p process) sameMachine(me process) bool {
	return p.Host != "" && p.Host == me.Host && p.Kernel == me.Kernel
}

// legacyRunning reads a lease recorded as "pid@host" alone (by an older
// cascade): another host's runner counts as running.
func legacyRunning(runner string) bool {
	pidStr, host, ok := strings.Cut(runner, "@")
	me, _ := os.Hostname()
	if !ok || host != me {
		return true
	}
	pid, err := strconv.Atoi(pidStr)
	if err != nil || pid <= 0 {
		return false
	}
	return syscall.Kill(pid, 0) == nil
}

// lease is the lease a runner holds while Next runs.
type lease struct {
	release int64
	plan    string
	token   string
}

// stopped is why a runner stops before a transition: the release is no
// longer active (aborted, or finished by someone else), or its lease was
// taken over. A runner that lost its lease writes nothing more.
type stopped struct {
	plan   string
	lost   bool
	holder string // the runner that holds the lease now, when lost
	state  string // the release's state, when not active
	reason string
}

func (s *stopped) Error() string {
	if s.lost {
		holder := "no runner"
		if s.holder != "" {
			holder = s.holder
		}
		return fmt.Sprintf("this `cascade release next` lost its lease on the release of %s (%s holds it now): it stopped and wrote nothing more", s.plan, holder)
	}
	why := ""
	if s.reason != "" {
		why = " (" + s.reason + ")"
	}
	return fmt.Sprintf("the release of %s was %s%s while this `cascade release next` ran: nothing more runs", s.plan, s.state, why)
}

// asStopped finds a runner stop in err or in what cancelled ctx.
func asStopped(ctx context.Context, err error) *stopped {
	var s *stopped
	if errors.As(err, &s) {
		return s
	}
	if err != nil && ctx.Err() != nil && errors.As(context.Cause(ctx), &s) {
		return s
	}
	return nil
}

// querier is a database or a transaction.
type querier interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// held reads, in one query, whether this runner may still act on its
// release: it holds the lease (its token is the release's) and the
// release is active. It returns the reason to stop, or nil; nil too when
// the engine runs no release (a person's command).
func (e *Engine) held(ctx context.Context, q querier) error {
	if e.lease == nil {
		return nil
	}
	var state, reason, token, runner string
	err := q.QueryRowContext(ctx, "SELECT state, coalesce(reason, ''), coalesce(lease_token, ''), coalesce(runner, '') FROM releases WHERE id = ?", e.lease.release).Scan(&state, &reason, &token, &runner)
	if err != nil {
		return err
	}
	switch {
	case token != e.lease.token:
		return &stopped{plan: e.lease.plan, lost: true, holder: runner}
	case state != Active:
		return &stopped{plan: e.lease.plan, state: state, reason: reason}
	}
	return nil
}

// tx runs fn in one transaction that first checks, with held, that this
// runner still holds its lease on an active release: a runner writes
// nothing once the release was aborted or taken over.
func (e *Engine) tx(ctx context.Context, fn func(tx *store.Tx) error) error {
	return e.storeTx(ctx, func(tx *store.Tx) error {
		if err := e.held(ctx, tx); err != nil {
			return err
		}
		return fn(tx)
	})
}

// acquireLease makes this process the release's runner. A lease held by
// another runner is a conflict (exit 1, at once; nothing waits) that
// names the holder, unless the holder is gone: a process of this machine
// that no longer runs is replaced at once, even before its lease expires;
// one that still runs (even stopped, past its expiry) keeps the release; a
// runner on another host is replaced once its lease expired. A takeover is
// audited. The heartbeat renews the lease, and watches the release: when
// it is aborted or the lease is taken over, the returned context is
// cancelled with the reason (a step's processes die with it). It returns
// the function that stops the heartbeat and gives the lease back.
func (e *Engine) acquireLease(ctx context.Context, st *Status, actor string) (context.Context, func(), error) {
	me := thisProcess()
	ttl := e.leaseTTL()
	token := newToken()
	var took map[string]any
	err := e.storeTx(ctx, func(tx *store.Tx) error {
		var runner, expires, host, kernel, started sql.NullString
		var pid sql.NullInt64
		if err := tx.QueryRowContext(ctx, "SELECT runner, lease_expires, runner_host, runner_kernel, runner_pid, runner_started FROM releases WHERE id = ?", st.ID).Scan(&runner, &expires, &host, &kernel, &pid, &started); err != nil {
			return err
		}
		now := e.Now().UTC()
		if runner.String != "" {
			exp, perr := time.Parse(time.RFC3339Nano, expires.String)
			live := perr == nil && now.Before(exp)
			other := process{Runner: runner.String, Host: host.String, Kernel: kernel.String, Pid: int(pid.Int64), Started: started.String}
			gone := false
			switch {
			case other.Host == "":
				// Recorded by an older cascade: pid@host only.
				gone = !legacyRunning(other.Runner)
				if live && !gone {
					return heldBy(other.Runner, exp)
				}
			case other.sameMachine(me):
				gone = !other.running()
				if !gone {
					if live {
						return heldBy(other.Runner, exp)
					}
					return errkind.New(errkind.Conflict, "another `cascade release next` (process %d on this host) holds this release; its lease expired at %s, but the process still runs (stopped, or hung): resume it (`fg`, or `kill -CONT %d`) to let it finish, or end it (`kill %d`) and run again", other.Pid, exp.Format(time.RFC3339), other.Pid, other.Pid)
				}
			case live:
				return heldBy(other.Runner, exp)
			}
			took = map[string]any{"previous_runner": runner.String, "lease_expired": expires.String, "runner": me.Runner}
			if live && gone {
				took["process_gone"] = true
			}
		}
		_, err := tx.ExecContext(ctx, "UPDATE releases SET runner = ?, lease_expires = ?, lease_token = ?, runner_host = ?, runner_kernel = ?, runner_pid = ?, runner_started = ? WHERE id = ?",
			me.Runner, now.Add(ttl).Format(time.RFC3339Nano), token, me.Host, me.Kernel, me.Pid, me.Started, st.ID)
		if err != nil {
			return err
		}
		if took != nil {
			return e.append(ctx, tx, st.ID, st.Plan, e.now(), actor, "takeover", took)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if took != nil {
		why := "whose lease expired"
		if took["process_gone"] == true {
			why = "whose process on this host is gone"
		}
		e.logf("took over the release from %s, %s", took["previous_runner"], why)
		if err := e.recordHead(ctx, st.Plan); err != nil {
			return nil, nil, err
		}
	}
	e.lease = &lease{release: st.ID, plan: st.Plan, token: token}
	runCtx, cancel := context.WithCancelCause(ctx)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(e.watchEvery())
		defer t.Stop()
		renewed := time.Now()
		for {
			select {
			case <-stop:
				return
			case <-runCtx.Done():
				return
			case <-t.C:
			}
			if err := e.held(runCtx, e.Store.DB); err != nil {
				// An abort or a takeover stops the work at once. A release
				// that is done was finished by this runner (no one else can
				// while it runs a step): its last writes go on.
				var s *stopped
				if errors.As(err, &s) && (s.lost || s.state == Aborted) {
					cancel(s)
					return
				}
				continue // a busy database: try again at the next tick
			}
			if time.Since(renewed) < ttl/3 {
				continue
			}
			err := e.Store.Tx(runCtx, func(tx *store.Tx) error {
				res, err := tx.ExecContext(runCtx, "UPDATE releases SET lease_expires = ? WHERE id = ? AND lease_token = ?", e.Now().UTC().Add(ttl).Format(time.RFC3339Nano), st.ID, token)
				if err != nil {
					return err
				}
				if n, err := res.RowsAffected(); err == nil && n == 1 {
					renewed = time.Now()
				}
				return nil
			})
			if err != nil {
				e.logf("warning: could not renew the lease on the release of %s: %v", st.Plan, err)
			}
			// A lease not renewed until it nearly expires may be taken
			// over by another runner: this one stops its work first, so
			// two never run a step at once.
			if time.Since(renewed) >= ttl-e.watchEvery() {
				cancel(&stopped{lost: true})
				return
			}
		}
	}()
	return runCtx, func() {
		close(stop)
		<-done
		cancel(nil)
		e.lease = nil
		bg := context.WithoutCancel(ctx)
		_ = e.Store.Tx(bg, func(tx *store.Tx) error {
			_, err := tx.ExecContext(bg, "UPDATE releases SET runner = NULL, lease_expires = NULL, lease_token = NULL, runner_host = NULL, runner_kernel = NULL, runner_pid = NULL, runner_started = NULL WHERE id = ? AND lease_token = ?", st.ID, token)
			return err
		})
	}, nil
}

func heldBy(runner string, exp time.Time) error {
	return errkind.New(errkind.Conflict, "another `cascade release next` (%s) holds this release; its lease expires at %s unless it keeps heartbeating: cascade does not wait; run again when it has finished, or after that time to take over", runner, exp.Format(time.RFC3339))
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
