package jobs

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/verify"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Run states. A run is queued until a worker claims it, running while
// one works it (or until another resumes it), and then done (its report
// is stored, whatever the verdicts), error (it could not be verified: the
// reason says why; never read as safe) or canceled.
const (
	StateQueued   = "queued"
	StateRunning  = "running"
	StateDone     = "done"
	StateError    = "error"
	StateCanceled = "canceled"
)

// Event kinds.
const (
	EventRunStarted   = "run_started"
	EventPairStarted  = "pair_started"
	EventPairFinished = "pair_finished"
	EventRunFinished  = "run_finished"
)

// Defaults of a Request, as the command line's.
const (
	DefaultRetries = 2
	DefaultTimeout = 10 * time.Minute
)

// Request asks for a verification: as `cascade verify UPSTREAM --with
// REF...`, by a person.
type Request struct {
	// Upstream is "REPO[@REF]"; With are "REPO@REF" refs that ship with
	// it. Refs name branches, tags or commits of the workspace's repos;
	// a server never verifies a directory of its own machine.
	Upstream string
	With     []string
	// RequestedBy is the authenticated person who asked.
	RequestedBy string
	// Only, Tiers and Direct narrow the downstreams, as --only, --tier
	// and --direct.
	Only, Tiers []string
	Direct      bool
	// Retries of a failing candidate (nil: DefaultRetries); Timeout of
	// each build or test command (0: DefaultTimeout).
	Retries *int
	Timeout time.Duration
}

// Options are the stored options of a run.
type Options struct {
	Only           []string `json:"only,omitempty"`
	Tiers          []string `json:"tiers,omitempty"`
	Direct         bool     `json:"direct,omitempty"`
	Retries        int      `json:"retries"`
	TimeoutSeconds int64    `json:"timeout_seconds"`
}

// Run is a verification run as stored.
type Run struct {
	ID          int64      `json:"id"`
	Created     time.Time  `json:"created"`
	RequestedBy string     `json:"requested_by"`
	Upstream    string     `json:"upstream"`
	With        []string   `json:"with"`
	Options     Options    `json:"options"`
	State       string     `json:"state"`
	Started     *time.Time `json:"started,omitempty"`
	Finished    *time.Time `json:"finished,omitempty"`
	// Report is the document `cascade verify --json` prints for the same
	// verification, byte for byte; set when the run is done.
	Report json.RawMessage `json:"report,omitempty"`
	// ExitClass is the exit code the command line would give (0 no
	// regression, 1 a regression, 2 bad input, 3 something could not be
	// verified); set when the run is done.
	ExitClass  *int   `json:"exit_class,omitempty"`
	Conclusion string `json:"conclusion,omitempty"`
	// Reason says why a run is in state error.
	Reason string `json:"reason,omitempty"`
	// Attempts counts the jobs that claimed the run.
	Attempts int `json:"attempts"`
}

// Event is one step of a run's progress. A resumed run starts again
// (another run_started, with "resumed": true) and may start a pair again;
// each pair's pair_finished and the run's run_finished are written once.
type Event struct {
	RunID int64     `json:"run_id"`
	Seq   int64     `json:"seq"`
	At    time.Time `json:"at"`
	Kind  string    `json:"kind"`
	// Payload is a JSON object: for pair events "repo", "state", "done",
	// "total" and, when finished, "verdict", "baseline", "candidate",
	// "duration_ms", "cached"; for run_started "attempt" and "resumed";
	// for run_finished "state", "exit_class", "conclusion", "reason".
	Payload json.RawMessage `json:"payload"`
}

// MaxWith bounds the refs of one request, and its --only and --tier
// names.
const MaxWith = 64

// MaxActivePerPerson is how many runs one person may have queued or
// running at once (an identical request does not count: it gets the run
// already there).
const MaxActivePerPerson = 10

// RequestVerification checks a request against the workspace and queues
// it: an unknown repo, a ref the repo lacks, a --with ref without @REF, a
// directory ref or a repo named twice is an errkind.Invalid error, and
// then nothing is queued.
func (s *System) RequestVerification(ctx context.Context, req Request) (Run, error) {
	if err := checkRequest(req); err != nil {
		return Run{}, err
	}
	_, g, err := s.loadGraph(ctx)
	if err != nil {
		return Run{}, err
	}
	members, err := verify.ResolveChangeSet(ctx, g, req.Upstream, req.With, "")
	if err == nil {
		err = verify.CheckSelection(g, members, verify.Options{Only: req.Only, Tiers: req.Tiers, Direct: req.Direct})
	}
	if err != nil {
		if k := errkind.Of(err); k == errkind.NotFound || k == errkind.Invalid {
			return Run{}, errkind.Wrap(errkind.Invalid, err)
		}
		return Run{}, err
	}
	opt := Options{Only: req.Only, Tiers: req.Tiers, Direct: req.Direct, Retries: DefaultRetries, TimeoutSeconds: int64(DefaultTimeout / time.Second)}
	if req.Retries != nil {
		opt.Retries = *req.Retries
	}
	if req.Timeout > 0 {
		opt.TimeoutSeconds = int64((req.Timeout + time.Second - 1) / time.Second)
	}
	run := Run{Created: s.cfg.Now().UTC(), RequestedBy: req.RequestedBy, Upstream: req.Upstream,
		With: append([]string{}, req.With...), Options: opt, State: StateQueued}
	with, _ := json.Marshal(run.With)
	opts, _ := json.Marshal(run.Options)
	// The request resolved: each repo at its commit, with the options. A
	// run of the same, queued or running, is the answer to it too.
	kh := sha256.New()
	for _, m := range members {
		fmt.Fprintf(kh, "%s@%s\x00", m.Repo, m.Commit)
	}
	kh.Write(opts)
	key := hex.EncodeToString(kh.Sum(nil))
	var existing int64
	err = s.st.Tx(ctx, func(tx *store.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT id FROM verification_runs WHERE request_key = ? AND state IN ('queued', 'running') ORDER BY id LIMIT 1", key).Scan(&existing)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return errkind.Wrap(errkind.Infra, err)
		}
		var active int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM verification_runs WHERE requested_by = ? AND state IN ('queued', 'running')", run.RequestedBy).Scan(&active); err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
		if active >= MaxActivePerPerson {
			return errkind.New(errkind.Conflict, "%s has %d verification runs queued or running, the most one person may: wait for one to end, or cancel one", run.RequestedBy, active)
		}
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) + 1 FROM verification_runs").Scan(&run.ID); err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO verification_runs (id, created, requested_by, upstream, with_refs, options, state, request_key)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, run.ID, formatTime(run.Created), run.RequestedBy, run.Upstream, string(with), string(opts), StateQueued, key)
		return wrapInfra(err)
	})
	if err != nil {
		return Run{}, err
	}
	if existing != 0 {
		return s.Run(ctx, existing)
	}
	if err := s.enqueue(ctx, run.ID); err != nil {
		// The run would wait for a job that does not exist: say so.
		s.fail(context.WithoutCancel(ctx), run.ID, "", "could not queue its job: "+err.Error())
		return Run{}, err
	}
	return run, nil
}

// checkRequest checks what can be checked without the workspace.
func checkRequest(req Request) error {
	if strings.TrimSpace(req.RequestedBy) == "" {
		return errkind.New(errkind.Invalid, "a verification request names no person who asked for it")
	}
	if req.Upstream == "" {
		return errkind.New(errkind.Invalid, "a verification request names no upstream: give REPO or REPO@REF")
	}
	if len(req.With) > MaxWith {
		return errkind.New(errkind.Invalid, "a verification request names %d refs with the upstream; at most %d", len(req.With), MaxWith)
	}
	if req.Retries != nil && (*req.Retries < 0 || *req.Retries > 10) {
		return errkind.New(errkind.Invalid, "retries %d: give 0 to 10", *req.Retries)
	}
	if req.Timeout < 0 || req.Timeout > 24*time.Hour {
		return errkind.New(errkind.Invalid, "timeout %s: give a duration up to 24h", req.Timeout)
	}
	if len(req.Only)+len(req.Tiers) > MaxWith {
		return errkind.New(errkind.Invalid, "a verification request selects %d downstreams and tiers; at most %d", len(req.Only)+len(req.Tiers), MaxWith)
	}
	for _, name := range append(append([]string{}, req.Only...), req.Tiers...) {
		if name == "" || strings.ContainsAny(name, "\x00\n\r") {
			return errkind.New(errkind.Invalid, "%q is not a repo or tier name", name)
		}
	}
	for _, arg := range append([]string{req.Upstream}, req.With...) {
		repo, ref := verify.SplitRef(arg)
		if repo == "" || strings.HasPrefix(arg, "@") {
			return errkind.New(errkind.Invalid, "%q names no repo: give REPO@REF", arg)
		}
		if strings.HasPrefix(ref, ".") || strings.HasPrefix(ref, "/") || strings.HasPrefix(ref, "~") {
			return errkind.New(errkind.Invalid, "%q names a directory; a verification request verifies branches, tags or commits of the workspace's repos", arg)
		}
		if strings.ContainsAny(arg, "\x00\n\r") {
			return errkind.New(errkind.Invalid, "%q holds a control character", arg)
		}
	}
	for _, w := range req.With {
		if _, ref := verify.SplitRef(w); ref == "" {
			return errkind.New(errkind.Invalid, "--with %s names no ref: a change set ships a branch, tag or commit of each repo (--with %s@REF)", w, strings.TrimSuffix(w, "@"))
		}
	}
	return nil
}

// loadGraph reads the workspace and builds its graph, as the command line
// does.
func (s *System) loadGraph(ctx context.Context) (*workspace.Workspace, *graph.Workspace, error) {
	ws, err := workspace.Load(s.cfg.Workspace)
	if err != nil {
		return nil, nil, err
	}
	repos, err := scan.Workspace(ctx, ws, scan.Options{CacheDir: s.cfg.CacheDir})
	if err != nil {
		return nil, nil, err
	}
	return ws, graph.Build(repos), nil
}

// enqueue inserts a job for run id and records its id on the run.
func (s *System) enqueue(ctx context.Context, id int64) error {
	res, err := s.client.Insert(ctx, VerifyArgs{RunID: id}, nil)
	if err != nil {
		return errkind.Wrap(errkind.Infra, fmt.Errorf("queueing verification run %d: %w", id, err))
	}
	return s.st.Tx(ctx, func(tx *store.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE verification_runs SET job_id = ? WHERE id = ?", res.Job.ID, id)
		return wrapInfra(err)
	})
}

const runColumns = `id, created, requested_by, upstream, with_refs, options, state, started, finished,
	report, exit_class, conclusion, reason, attempts`

type rowScanner interface{ Scan(dest ...any) error }

func scanRun(row rowScanner) (Run, error) {
	var (
		r                       Run
		created, with, opts     string
		started, finished       sql.NullString
		rep, conclusion, reason sql.NullString
		exit                    sql.NullInt64
	)
	if err := row.Scan(&r.ID, &created, &r.RequestedBy, &r.Upstream, &with, &opts, &r.State, &started, &finished,
		&rep, &exit, &conclusion, &reason, &r.Attempts); err != nil {
		return Run{}, err
	}
	r.Created = parseTime(created)
	if err := json.Unmarshal([]byte(with), &r.With); err != nil {
		return Run{}, fmt.Errorf("run %d: with_refs: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(opts), &r.Options); err != nil {
		return Run{}, fmt.Errorf("run %d: options: %w", r.ID, err)
	}
	if started.Valid {
		t := parseTime(started.String)
		r.Started = &t
	}
	if finished.Valid {
		t := parseTime(finished.String)
		r.Finished = &t
	}
	if rep.Valid {
		r.Report = json.RawMessage(rep.String)
	}
	if exit.Valid {
		e := int(exit.Int64)
		r.ExitClass = &e
	}
	r.Conclusion, r.Reason = conclusion.String, reason.String
	return r, nil
}

// Run reads one run; an unknown id is an errkind.NotFound error.
func (s *System) Run(ctx context.Context, id int64) (Run, error) {
	r, err := scanRun(s.st.DB.QueryRowContext(ctx, "SELECT "+runColumns+" FROM verification_runs WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, errkind.New(errkind.NotFound, "no verification run %d", id)
	}
	if err != nil {
		return Run{}, errkind.Wrap(errkind.Infra, err)
	}
	return r, nil
}

// Runs lists the newest runs first, at most limit (1 to 1000; other
// values mean 100), without their reports (Run reads one whole).
func (s *System) Runs(ctx context.Context, limit int) ([]Run, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	columns := strings.Replace(runColumns, "report,", "NULL AS report,", 1)
	rows, err := s.st.DB.QueryContext(ctx, "SELECT "+columns+" FROM verification_runs ORDER BY id DESC LIMIT ?", limit)
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	defer rows.Close()
	runs := []Run{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		runs = append(runs, r)
	}
	return runs, wrapInfra(rows.Err())
}

// Events lists a run's events after sequence number afterSeq (0: from the
// first), in order, at most 10000 at a time. An unknown run is an
// errkind.NotFound error.
func (s *System) Events(ctx context.Context, id, afterSeq int64) ([]Event, error) {
	if _, err := s.Run(ctx, id); err != nil {
		return nil, err
	}
	rows, err := s.st.DB.QueryContext(ctx, "SELECT seq, at, kind, payload FROM verification_events WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT 10000", id, afterSeq)
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	defer rows.Close()
	events := []Event{}
	for rows.Next() {
		e := Event{RunID: id}
		var at, payload string
		if err := rows.Scan(&e.Seq, &at, &e.Kind, &payload); err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		e.At, e.Payload = parseTime(at), json.RawMessage(payload)
		events = append(events, e)
	}
	return events, wrapInfra(rows.Err())
}

// addEvent appends an event to a run inside tx. A pair_finished event is
// written once per pair: when pair is given and the pair already has one,
// addEvent writes nothing and returns ok false — and so for a
// pair_started of a pair already finished (a resumed run goes over it
// again, from the cache), so that every pair_started a client sees is
// followed by its pair_finished.
func (s *System) addEvent(ctx context.Context, tx *store.Tx, runID int64, kind, pair string, payload any) (Event, bool, error) {
	if (kind == EventPairFinished || kind == EventPairStarted) && pair != "" {
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM verification_events WHERE run_id = ? AND kind = ? AND pair = ?", runID, EventPairFinished, pair).Scan(&n); err != nil {
			return Event{}, false, wrapInfra(err)
		}
		if n > 0 {
			return Event{}, false, nil
		}
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return Event{}, false, err
	}
	e := Event{RunID: runID, At: s.cfg.Now().UTC(), Kind: kind, Payload: data}
	if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(seq), 0) + 1 FROM verification_events WHERE run_id = ?", runID).Scan(&e.Seq); err != nil {
		return Event{}, false, wrapInfra(err)
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO verification_events (run_id, seq, at, kind, pair, payload) VALUES (?, ?, ?, ?, ?, ?)",
		runID, e.Seq, formatTime(e.At), kind, pair, string(data))
	return e, err == nil, wrapInfra(err)
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func wrapInfra(err error) error {
	if err == nil || errkind.Of(err) != errkind.Other {
		return err
	}
	return errkind.Wrap(errkind.Infra, err)
}

// Counts returns how many runs are in each state (every state is a key),
// for a dashboard or /metrics.
func (s *System) Counts(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{StateQueued: 0, StateRunning: 0, StateDone: 0, StateError: 0, StateCanceled: 0}
	rows, err := s.st.DB.QueryContext(ctx, "SELECT state, count(*) FROM verification_runs GROUP BY state")
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		counts[state] = n
	}
	return counts, wrapInfra(rows.Err())
}

// Cancel stops run id for person by: a queued run never starts, and a
// running one's worker stops within a third of LeaseTTL (at its next
// heartbeat). A finished run is an errkind.Conflict error, an unknown one
// errkind.NotFound.
func (s *System) Cancel(ctx context.Context, id int64, by string) (Run, error) {
	if strings.TrimSpace(by) == "" {
		return Run{}, errkind.New(errkind.Invalid, "a cancellation names no person")
	}
	if _, err := s.Run(ctx, id); err != nil {
		return Run{}, err
	}
	err := s.finish(ctx, id, "", StateCanceled, "", nil, "", "canceled by "+by)
	if errors.Is(err, errLeaseLost) {
		r, rerr := s.Run(ctx, id)
		if rerr != nil {
			return Run{}, rerr
		}
		return r, errkind.New(errkind.Conflict, "verification run %d is %s already; only a queued or running run can be canceled", id, r.State)
	}
	if err != nil {
		return Run{}, err
	}
	return s.Run(ctx, id)
}
