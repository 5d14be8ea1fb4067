package release

import (
	"context"
	"database/sql"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// DefaultLeaseTTL is how long a runner's lease on a release lasts without
// a heartbeat; a runner renews it every third of that.
const DefaultLeaseTTL = 2 * time.Minute

func (e *Engine) leaseTTL() time.Duration {
	if e.LeaseTTL > 0 {
		return e.LeaseTTL
	}
	return DefaultLeaseTTL
}

// acquireLease makes this process the release's runner. A lease held by a
// live runner (its heartbeat keeps it from expiring) is a conflict that
// says until when; an expired one, from any host, or one whose process on
// this host is gone, is taken over, and the takeover is audited. It
// returns a function that stops the heartbeat and gives the lease back.
func (e *Engine) acquireLease(ctx context.Context, st *Status, actor string) (func(), error) {
	me := runnerID()
	ttl := e.leaseTTL()
	var took map[string]any
	err := e.Store.Tx(ctx, func(tx *sql.Tx) error {
		var runner, expires sql.NullString
		if err := tx.QueryRowContext(ctx, "SELECT runner, lease_expires FROM releases WHERE id = ?", st.ID).Scan(&runner, &expires); err != nil {
			return err
		}
		now := e.Now().UTC()
		if runner.String != "" && runner.String != me {
			exp, perr := time.Parse(time.RFC3339Nano, expires.String)
			live := perr == nil && now.Before(exp)
			if live && !deadHere(runner.String) {
				return errkind.New(errkind.Conflict, "another `cascade release next` (%s) holds this release; its lease expires at %s unless it keeps heartbeating: wait for it, or run again after that to take over", runner.String, exp.Format(time.RFC3339))
			}
			took = map[string]any{"previous_runner": runner.String, "lease_expired": expires.String, "runner": me}
			if live {
				took["process_gone"] = true
			}
		}
		_, err := tx.ExecContext(ctx, "UPDATE releases SET runner = ?, lease_expires = ? WHERE id = ?", me, now.Add(ttl).Format(time.RFC3339Nano), st.ID)
		if err != nil {
			return err
		}
		if took != nil {
			return e.append(ctx, tx, st.ID, st.Plan, e.now(), actor, "takeover", took)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if took != nil {
		why := "whose lease expired"
		if took["process_gone"] == true {
			why = "whose process on this host is gone"
		}
		e.logf("took over the release from %s, %s", took["previous_runner"], why)
		if err := e.recordHead(ctx, st.Plan); err != nil {
			return nil, err
		}
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				_ = e.Store.Tx(ctx, func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, "UPDATE releases SET lease_expires = ? WHERE id = ? AND runner = ?", e.Now().UTC().Add(ttl).Format(time.RFC3339Nano), st.ID, me)
					return err
				})
			}
		}
	}()
	return func() {
		close(stop)
		<-done
		bg := context.WithoutCancel(ctx)
		_ = e.Store.Tx(bg, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(bg, "UPDATE releases SET runner = NULL, lease_expires = NULL WHERE id = ? AND runner = ?", st.ID, me)
			return err
		})
	}, nil
}

// deadHere reports whether a runner id names a process of this host that
// no longer runs (its lease can be taken over at once).
func deadHere(runner string) bool {
	return !alive(runner)
}
