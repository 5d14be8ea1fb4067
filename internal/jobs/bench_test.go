package jobs

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

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
				// Requests come at any time, not just after the last job
				// ended (when a worker fetches anyway).
				time.Sleep(time.Duration(n%10) * 53 * time.Millisecond)
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

type pingArgs struct{}

func (pingArgs) Kind() string { return "cascade_bench_ping" }

// BenchmarkPostgresDriver compares River's two PostgreSQL drivers for the
// latency that matters to a team set-up: a job inserted by one client
// (cascade serve) and worked by another (a worker), with the jobs
// system's fetch settings. queue-ms/op is from Insert's return to the
// job's start: pgxv5 hears of the job by LISTEN/NOTIFY, databasesql (no
// listener) only at its next poll.
func BenchmarkPostgresDriver(b *testing.B) {
	ctx := context.Background()
	for _, name := range []string{"pgxv5", "databasesql"} {
		b.Run(name, func(b *testing.B) {
			url := storetest.Postgres(b)
			started := make(chan time.Time, 1)
			workers := river.NewWorkers()
			river.AddWorker(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[pingArgs]) error {
				started <- time.Now()
				return nil
			}))
			cfg := func(work bool) *river.Config {
				c := &river.Config{FetchCooldown: DefaultFetchCooldown, FetchPollInterval: DefaultFetchPollInterval,
					Logger: slog.New(slog.DiscardHandler), Workers: workers}
				if work {
					c.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 1}}
				}
				return c
			}
			var insert, worker interface {
				Insert(context.Context, river.JobArgs, *river.InsertOpts) (*rivertype.JobInsertResult, error)
				Start(context.Context) error
				Stop(context.Context) error
			}
			switch name {
			case "pgxv5":
				pool, err := pgxpool.New(ctx, url)
				if err != nil {
					b.Fatal(err)
				}
				defer pool.Close()
				drv := riverpgxv5.New(pool)
				if err := migrateRiver(ctx, drv, nil); err != nil {
					b.Fatal(err)
				}
				insert, _ = river.NewClient(drv, cfg(false))
				worker, err = river.NewClient(drv, cfg(true))
				if err != nil {
					b.Fatal(err)
				}
			case "databasesql":
				db, err := sql.Open("pgx", url)
				if err != nil {
					b.Fatal(err)
				}
				defer db.Close()
				drv := riverdatabasesql.New(db)
				if err := migrateRiver(ctx, drv, nil); err != nil {
					b.Fatal(err)
				}
				insert, _ = river.NewClient(drv, cfg(false))
				worker, err = river.NewClient(drv, cfg(true))
				if err != nil {
					b.Fatal(err)
				}
			}
			if err := worker.Start(ctx); err != nil {
				b.Fatal(err)
			}
			defer worker.Stop(ctx)
			var queued time.Duration
			n := 0
			for b.Loop() {
				// Requests come at any time, not just after the last job
				// ended (when a worker fetches anyway).
				time.Sleep(time.Duration(n%10) * 53 * time.Millisecond)
				if _, err := insert.Insert(ctx, pingArgs{}, nil); err != nil {
					b.Fatal(err)
				}
				t0 := time.Now()
				select {
				case at := <-started:
					queued += at.Sub(t0)
				case <-time.After(time.Minute):
					b.Fatal("the job did not start within a minute")
				}
				n++
			}
			b.ReportMetric(float64(queued.Microseconds())/1000/float64(n), "queue-ms/op")
		})
	}
}
