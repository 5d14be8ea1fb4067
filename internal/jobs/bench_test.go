package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/store/storetest"
)

// BenchmarkStartLatency measures how soon a requested verification's job
// starts: ms/op from the call of RequestVerification (which reads the
// workspace to check the request) to the worker's start, queue-ms/op from
// the job's insertion (RequestVerification's return) to the start. The
// job stops at its start, so the benchmark measures the queue, not builds.
// In "local" the requesting System works the queue itself (cascade serve
// with its in-process worker); in "remote" another System on its own
// connections does (as another process would): it hears of the job by
// PostgreSQL's notification, or on SQLite by its next poll.
func BenchmarkStartLatency(b *testing.B) {
	for _, be := range storetest.Backends() {
		for _, remote := range []bool{false, true} {
			name := be.Name + "/local"
			if remote {
				name = be.Name + "/remote"
			}
			b.Run(name, func(b *testing.B) { benchStart(b, be.New(b), remote) })
		}
	}
}

func benchStart(b *testing.B, db string, remote bool) {
	ctx := context.Background()
	started := make(chan time.Time, 1)
	ws, cache := demoWorkspace(b), b.TempDir()
	_, worker := open(b, db, Config{Workspace: ws, CacheDir: cache, Workers: 1, MaxAttempts: 1,
		Hooks: Hooks{Started: func(context.Context, int64) error {
			select {
			case started <- time.Now():
			default:
			}
			return errors.New("stopped by the benchmark")
		}}})
	if err := worker.Start(ctx); err != nil {
		b.Fatal(err)
	}
	sys := worker
	if remote {
		_, sys = open(b, db, Config{Workspace: ws, CacheDir: cache, MaxAttempts: 1})
	}
	{
		{
			var total, queued time.Duration
			n := 0
			for b.Loop() {
				t0 := time.Now()
				run, err := sys.RequestVerification(ctx, Request{Upstream: "clever-db@strict-where", RequestedBy: "alice"})
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				select {
				case at := <-started:
					total += at.Sub(t0)
					queued += at.Sub(t1)
				case <-time.After(time.Minute):
					b.Fatal("the job did not start within a minute")
				}
				waitFinished(b, sys, run.ID, time.Minute)
				n++
			}
			b.ReportMetric(float64(total.Microseconds())/1000/float64(n), "ms/op")
			b.ReportMetric(float64(queued.Microseconds())/1000/float64(n), "queue-ms/op")
		}
	}
}
