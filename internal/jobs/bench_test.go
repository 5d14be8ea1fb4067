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
func BenchmarkStartLatency(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			ctx := context.Background()
			started := make(chan time.Time, 1)
			_, sys := open(b, be.New(b), Config{Workspace: demoWorkspace(b), CacheDir: b.TempDir(), Workers: 1, MaxAttempts: 1,
				Hooks: Hooks{Started: func(int64) error {
					started <- time.Now()
					return errors.New("stopped by the benchmark")
				}}})
			if err := sys.Start(ctx); err != nil {
				b.Fatal(err)
			}
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
		})
	}
}
