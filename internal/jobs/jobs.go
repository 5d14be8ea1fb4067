// Package jobs runs cascade's long work — verification runs — as River
// jobs in the same database as the store, so that a restarted server
// resumes queued and interrupted work and an HTTP handler never waits for
// a build.
//
// A verification run is a row of verification_runs (what was asked, its
// state, its report) with a log of events (verification_events) that a
// dashboard streams; the River job only carries the run's id. On SQLite
// River shares the store's one connection (River's SQLite driver wants one
// connection, and the store's transactions and River's then queue in the
// process instead of waiting on the file lock); on PostgreSQL River gets a
// pgx pool from the same URL, whose LISTEN/NOTIFY wakes a worker as soon
// as a job is inserted by any process (BenchmarkPostgresDriver: tens of
// milliseconds from insert to start in another client, where River's
// database/sql driver, which has no listener, waits for its next poll).
//
// Each run is written by one process at a time: the job that works it
// first claims it (a lease with a token and the process's identity, kept
// alive by a heartbeat), and its final write — report, verdict, state —
// is one transaction that happens only while the run is still running and
// the lease still its own. A process killed mid-run leaves the lease of a
// process that no longer runs: the next System that starts on the same
// machine queues the run again at once, and River's rescuer re-queues the
// job after RescueStuckJobsAfter for any other machine. The re-run
// verifies again; the verification result cache makes the pairs already
// done cheap.
package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/verify"
)

// Defaults of Config.
const (
	// DefaultJobTimeout bounds one attempt at a verification run: a whole
	// organisation's builds and tests, each bounded by its own timeout.
	DefaultJobTimeout = 3 * time.Hour
	// DefaultLeaseTTL is how long a run's lease lasts without a heartbeat.
	DefaultLeaseTTL = 2 * time.Minute
	// DefaultMaxAttempts is how often a run's job is tried before the run
	// is given up as an error.
	DefaultMaxAttempts = 5
	// DefaultFetchPollInterval is how often a worker looks for jobs that
	// another process inserted without telling it (always on SQLite; on
	// PostgreSQL only when a notification was missed). A job inserted by
	// the same process, or on PostgreSQL by any, is fetched at once.
	DefaultFetchPollInterval = 500 * time.Millisecond
	// DefaultFetchCooldown is the least time between two fetches.
	DefaultFetchCooldown = 20 * time.Millisecond
)

// Config says where and how verification runs are worked.
type Config struct {
	// Workspace is the cascade.yaml whose repos runs verify.
	Workspace string
	// CacheDir holds mirrors, the manifest cache and the verification
	// result cache (as the command line's --cache-dir).
	CacheDir string
	// Workers is how many runs this process works at once; 0 makes a
	// System that only queues runs and reads them (another process works
	// them).
	Workers int
	// VerifyJobs is how many downstreams one run verifies at once (0: the
	// number of cores).
	VerifyJobs int
	// Logger receives River's and the workers' logs (default: discarded).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	// JobTimeout bounds one attempt (default DefaultJobTimeout);
	// RescueStuckJobsAfter is when River takes a running job for lost
	// (default JobTimeout plus an hour; never less than JobTimeout).
	JobTimeout           time.Duration
	RescueStuckJobsAfter time.Duration
	// LeaseTTL is how long a run's lease lasts without a heartbeat
	// (default DefaultLeaseTTL).
	LeaseTTL time.Duration
	// MaxAttempts is how often a run's job is tried (default
	// DefaultMaxAttempts).
	MaxAttempts int
	// FetchPollInterval and FetchCooldown tune how soon a queued job is
	// fetched (defaults DefaultFetchPollInterval, DefaultFetchCooldown).
	FetchPollInterval time.Duration
	FetchCooldown     time.Duration

	// Hooks are test seams; nil in the shipped binary.
	Hooks Hooks
}

// Hooks let tests watch and interrupt a run. Each is called on the
// worker's goroutine.
type Hooks struct {
	// Started is called when a job has claimed its run, before the
	// workspace is read, with the attempt's context; an error it returns
	// fails the attempt as a verification's would.
	Started func(ctx context.Context, runID int64) error
	// Event is called after an event has been committed.
	Event func(Event)
}

// System is an open jobs system: the queue of verification runs in the
// store's database and, after Start, this process's workers.
type System struct {
	st     *store.Store
	cfg    Config
	client queue
	pool   *pgxpool.Pool
	me     process

	mu   sync.Mutex
	subs map[int64]map[*subscription]struct{}
	// eventMu orders this process's progress events: each is written and
	// published before the next, so subscribers hear them in the order
	// of their sequence numbers (a run's pairs report from several
	// goroutines at once).
	eventMu sync.Mutex

	startMu sync.Mutex
	started bool
	// stopWatch ends the recovery loop; watchDone is closed when it has.
	stopWatch context.CancelFunc
	watchDone chan struct{}
}

// queue is what the system uses of River's client, the same for both
// drivers.
type queue interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	StopAndCancel(ctx context.Context) error
	Insert(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
	JobGet(ctx context.Context, id int64) (*rivertype.JobRow, error)
}

// Open prepares the jobs system on st's database: it applies River's own
// migrations and makes a River client. Nothing is worked before Start.
func Open(ctx context.Context, st *store.Store, cfg Config) (*System, error) {
	if cfg.Workspace == "" {
		return nil, errkind.New(errkind.Invalid, "jobs: no workspace given (the cascade.yaml whose repos runs verify)")
	}
	if cfg.CacheDir == "" {
		return nil, errkind.New(errkind.Invalid, "jobs: no cache directory given")
	}
	if cfg.Workers < 0 || cfg.VerifyJobs < 0 || cfg.MaxAttempts < 0 {
		return nil, errkind.New(errkind.Invalid, "jobs: the number of workers, jobs and attempts must not be negative")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.JobTimeout <= 0 {
		cfg.JobTimeout = DefaultJobTimeout
	}
	if cfg.RescueStuckJobsAfter <= 0 {
		cfg.RescueStuckJobsAfter = cfg.JobTimeout + time.Hour
	}
	if cfg.RescueStuckJobsAfter < cfg.JobTimeout {
		return nil, errkind.New(errkind.Invalid, "jobs: RescueStuckJobsAfter (%s) is shorter than JobTimeout (%s): a job still working would be run twice", cfg.RescueStuckJobsAfter, cfg.JobTimeout)
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = DefaultLeaseTTL
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.FetchCooldown <= 0 {
		cfg.FetchCooldown = DefaultFetchCooldown
	}
	if cfg.FetchPollInterval <= 0 {
		cfg.FetchPollInterval = DefaultFetchPollInterval
	}
	cfg.FetchPollInterval = max(cfg.FetchPollInterval, cfg.FetchCooldown)

	s := &System{st: st, cfg: cfg, me: thisProcess(), subs: map[int64]map[*subscription]struct{}{}}
	workers := river.NewWorkers()
	river.AddWorker(workers, &verifyWorker{s: s})
	rc := &river.Config{
		ID:                   clientID(s.me),
		Logger:               cfg.Logger,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
		MaxAttempts:          cfg.MaxAttempts,
		FetchCooldown:        cfg.FetchCooldown,
		FetchPollInterval:    cfg.FetchPollInterval,
		Workers:              workers,
	}
	if cfg.Workers > 0 {
		rc.Queues = map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Workers}}
	}
	switch st.Backend() {
	case "sqlite":
		drv := riversqlite.New(st.SQL())
		if err := migrateRiver(ctx, drv, cfg.Logger); err != nil {
			return nil, err
		}
		c, err := river.NewClient(drv, rc)
		if err != nil {
			return nil, errkind.Wrap(errkind.Infra, fmt.Errorf("jobs: %w", err))
		}
		s.client = c
	case "postgres":
		pool, err := pgxpool.New(ctx, st.URL())
		if err != nil {
			return nil, errkind.Wrap(errkind.Infra, fmt.Errorf("jobs: %s: %w", st.Path, err))
		}
		drv := riverpgxv5.New(pool)
		// River's migrator takes no lock: processes opening a fresh
		// database together would create the same tables at once. The
		// store's write lock makes them take turns (the migration runs
		// on the pool's connections, which do not need that lock).
		err = st.Tx(ctx, func(*store.Tx) error { return migrateRiver(ctx, drv, cfg.Logger) })
		if err != nil {
			pool.Close()
			return nil, err
		}
		c, err := river.NewClient(drv, rc)
		if err != nil {
			pool.Close()
			return nil, errkind.Wrap(errkind.Infra, fmt.Errorf("jobs: %w", err))
		}
		s.client, s.pool = c, pool
	default:
		return nil, errkind.New(errkind.Invalid, "jobs: no job queue for a %s database", st.Backend())
	}
	return s, nil
}

// migrateRiver applies River's migrations. Its migrator takes no lock, so
// another process may apply a version between this one's look and its
// write: a failed migration is looked at again a few times (each version
// is applied in a transaction of its own, so what the other process did
// is then seen as done).
func migrateRiver[TTx any](ctx context.Context, drv riverdriver.Driver[TTx], logger *slog.Logger) error {
	m, err := rivermigrate.New(drv, &rivermigrate.Config{Logger: logger})
	if err != nil {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("jobs: %w", err))
	}
	for try := 1; ; try++ {
		_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
		if err == nil || try == 5 || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(try) * 100 * time.Millisecond)
	}
	if err != nil {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("jobs: migrating the job queue's tables: %w", err))
	}
	return nil
}

// clientID names this process to River (a job records the clients that
// attempted it): host, pid and a random suffix, unique per System.
func clientID(p process) string {
	var b [4]byte
	rand.Read(b[:])
	return fmt.Sprintf("cascade-%s-%d-%s", p.Host, p.Pid, hex.EncodeToString(b[:]))
}

// Start recovers the runs that a process on this machine left behind
// when it died (their jobs are queued again at once) and those whose job
// was given up, then starts working the queue with Config.Workers
// workers, and looks for such runs again every LeaseTTL (a worker on
// another machine that stopped renewing its lease has died). A System
// with no workers only recovers, once.
func (s *System) Start(ctx context.Context) error {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	if s.started {
		return errkind.New(errkind.Conflict, "jobs: the system is already started")
	}
	if err := s.recover(ctx); err != nil {
		return err
	}
	if s.cfg.Workers == 0 {
		return nil
	}
	if err := s.client.Start(ctx); err != nil {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("jobs: starting the workers: %w", err))
	}
	s.started = true
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	s.stopWatch, s.watchDone = stop, make(chan struct{})
	go s.watch(wctx)
	return nil
}

// watch recovers runs every LeaseTTL while the system works: a run whose
// worker (on any machine) stopped renewing its lease is queued again
// without waiting for River's rescuer, and a run whose job River gave up
// is marked error.
func (s *System) watch(ctx context.Context) {
	defer close(s.watchDone)
	t := time.NewTicker(s.cfg.LeaseTTL)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.recover(ctx); err != nil && ctx.Err() == nil {
			s.cfg.Logger.Warn("could not look for interrupted verification runs", "err", err)
		}
	}
}

// Stop shuts the workers down gracefully: no new job is fetched, the
// running ones may finish until ctx's deadline, and then they are
// cancelled and hand their runs back; River makes such a job available
// again without spending an attempt (after a restart, the run resumes). Stop then closes the system's own connections (not
// the store).
func (s *System) Stop(ctx context.Context) error {
	s.startMu.Lock()
	defer s.startMu.Unlock()
	var err error
	if s.started {
		s.stopWatch()
		<-s.watchDone
		if err = s.client.Stop(ctx); err != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
			// Out of time: cancel the jobs still running and wait a
			// little for them to hand their runs back.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			err = s.client.StopAndCancel(cctx)
			cancel()
		}
		s.started = false
	}
	if s.pool != nil {
		s.pool.Close()
		s.pool = nil
	}
	s.closeSubscriptions()
	if err != nil {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("jobs: stopping: %w", err))
	}
	return nil
}

// VerifyArgs are a verification job's arguments: the run it works.
// Everything else is in the run's row.
type VerifyArgs struct {
	RunID int64 `json:"run_id"`
}

// Kind names the job kind in River's tables.
func (VerifyArgs) Kind() string { return "cascade_verify" }

// verifyOptions is the verify.Options a run's job uses.
func (s *System) verifyOptions(r Run, base string) verify.Options {
	return verify.Options{
		Upstream: r.Upstream,
		With:     r.With,
		Only:     r.Options.Only,
		Tiers:    r.Options.Tiers,
		Direct:   r.Options.Direct,
		Jobs:     s.cfg.VerifyJobs,
		Retries:  r.Options.Retries,
		Timeout:  time.Duration(r.Options.TimeoutSeconds) * time.Second,
		CacheDir: s.cfg.CacheDir,
		BaseDir:  base,
	}
}
