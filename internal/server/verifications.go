package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/jobs"
)

// Verifications serves verification runs from a jobs system: it is the
// server's Jobs. Runs are queued by POST /api/v1/verifications and worked
// by the system's workers (this process's or another's). At shutdown the
// system is stopped (see jobs.System.Stop: a running job may finish until
// the shutdown's deadline, then hands its run back).
type Verifications struct {
	System *jobs.System
	// Changed is called after each event this process commits for a run
	// it queued, and when the run ends (the dashboard refreshes the run's
	// page). Nil: nothing is told.
	Changed func(runID int64, ev jobs.Event)
	Logger  *slog.Logger
	// Middleware wraps the routes that change something before the login
	// is checked (auth's CSRF check: a session's form without its token
	// is a 403, as for the release actions).
	Middleware func(http.Handler) http.Handler
}

// Routes implements Jobs.
func (v *Verifications) Routes() []Route {
	return []Route{
		{Method: "POST", Pattern: "/api/v1/verifications", Middleware: v.Middleware, Handle: v.create},
		{Method: "GET", Pattern: "/api/v1/verifications", Handle: v.list},
		{Method: "GET", Pattern: "/api/v1/verifications/{id}", Handle: v.get},
		{Method: "GET", Pattern: "/api/v1/verifications/{id}/events", Handle: v.events},
	}
}

// Ready implements Jobs: the runs' table answers.
func (v *Verifications) Ready(ctx context.Context) error {
	_, err := v.System.Counts(ctx)
	return err
}

// Shutdown implements Jobs.
func (v *Verifications) Shutdown(ctx context.Context) error {
	return v.System.Stop(ctx)
}

// VerificationRequest is the body of POST /api/v1/verifications.
type VerificationRequest struct {
	Upstream string   `json:"upstream"`
	With     []string `json:"with,omitempty"`
	Only     []string `json:"only,omitempty"`
	Tiers    []string `json:"tiers,omitempty"`
	Direct   bool     `json:"direct,omitempty"`
}

func (v *Verifications) create(w http.ResponseWriter, r *http.Request) error {
	var req VerificationRequest
	if err := DecodeJSON(r, &req); err != nil {
		return err
	}
	person := PersonOf(r.Context())
	if person == "" {
		return &authError{errkind.New(errkind.Unauthorized, "log in first: cascade login --server URL")}
	}
	if strings.TrimSpace(req.Upstream) == "" {
		return errkind.New(errkind.Invalid, "upstream is empty: send {\"upstream\": \"REPO@REF\", \"with\": [\"REPO@REF\"]}")
	}
	run, err := v.System.RequestVerification(r.Context(), jobs.Request{
		Upstream: req.Upstream, With: req.With, RequestedBy: person,
		Only: req.Only, Tiers: req.Tiers, Direct: req.Direct,
	})
	if err != nil {
		return err
	}
	v.Watch(run.ID)
	w.Header().Set("Location", fmt.Sprintf("/api/v1/verifications/%d", run.ID))
	return WriteJSON(w, http.StatusAccepted, run)
}

// Watch tells Changed of run id's events that this process commits until
// the run ends (or the system stops). A server watches the runs it queues,
// and at its start the runs it may resume.
func (v *Verifications) Watch(id int64) {
	if v.Changed == nil {
		return
	}
	events, cancel := v.System.Subscribe(id)
	go func() {
		defer cancel()
		for ev := range events {
			v.Changed(id, ev)
			if ev.Kind == jobs.EventRunFinished {
				return
			}
		}
	}()
}

func (v *Verifications) list(w http.ResponseWriter, r *http.Request) error {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return errkind.New(errkind.Invalid, "query parameter limit=%q: want a number from 1 to 1000", s)
		}
		limit = n
	}
	runs, err := v.System.Runs(r.Context(), limit)
	if err != nil {
		return err
	}
	if runs == nil {
		runs = []jobs.Run{}
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

func runID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return 0, errkind.New(errkind.NotFound, "no verification run %q: run ids are positive numbers", s)
	}
	return id, nil
}

// VerificationDocument is GET /api/v1/verifications/{id}: the run, its
// report when done, and its events so far.
type VerificationDocument struct {
	jobs.Run
	Events []jobs.Event `json:"events"`
}

func (v *Verifications) get(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	run, err := v.System.Run(r.Context(), id)
	if err != nil {
		return err
	}
	evs, err := v.System.Events(r.Context(), id, 0)
	if err != nil {
		return err
	}
	if evs == nil {
		evs = []jobs.Event{}
	}
	return WriteJSON(w, http.StatusOK, VerificationDocument{Run: run, Events: evs})
}

// eventsPoll is how often a stream reads the run's events from the
// database, for those another process writes.
const eventsPoll = time.Second

// events streams run id's events as Server-Sent Events (event: the kind,
// id: the sequence number, data: the event as JSON), from after the
// Last-Event-ID the client sends (or the first) until run_finished.
func (v *Verifications) events(w http.ResponseWriter, r *http.Request) error {
	id, err := runID(r)
	if err != nil {
		return err
	}
	var after int64
	if s := r.Header.Get("Last-Event-ID"); s != "" {
		if after, err = strconv.ParseInt(s, 10, 64); err != nil || after < 0 {
			return errkind.New(errkind.Invalid, "Last-Event-ID %q: want an event's sequence number", s)
		}
	}
	if _, err := v.System.Run(r.Context(), id); err != nil {
		return err
	}
	ctx := r.Context()
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	send := func(ev jobs.Event) (finished bool, err error) {
		if ev.Seq <= after {
			return false, nil
		}
		data, err := jsonLine(ev)
		if err != nil {
			return false, err
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", ev.Seq, ev.Kind, data); err != nil {
			return false, err
		}
		after = ev.Seq
		return ev.Kind == jobs.EventRunFinished, nil
	}
	catchUp := func() (bool, error) {
		evs, err := v.System.Events(ctx, id, after)
		if err != nil {
			return false, err
		}
		for _, ev := range evs {
			if done, err := send(ev); err != nil || done {
				return done, err
			}
		}
		return false, rc.Flush()
	}
	tick := time.NewTicker(eventsPoll)
	defer tick.Stop()
	for {
		live, cancel := v.System.Subscribe(id)
		done, err := catchUp()
		if err != nil || done {
			cancel()
			return nil // the stream has begun: errors end it
		}
	inner:
		for {
			select {
			case <-ctx.Done():
				cancel()
				return nil
			case ev, ok := <-live:
				if !ok {
					break inner // fell behind or the system stopped: read again
				}
				done, err := send(ev)
				if err == nil {
					err = rc.Flush()
				}
				if err != nil || done {
					cancel()
					return nil
				}
			case <-tick.C:
				if done, err := catchUp(); err != nil || done {
					cancel()
					return nil
				}
			}
		}
		cancel()
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// jsonLine is v as one line of JSON.
func jsonLine(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// LoginRoutes are the login routes of package auth (its Handler, which
// checks its own credentials and CSRF tokens) as the server's routes.
func LoginRoutes(h http.Handler) []Route {
	serve := func(w http.ResponseWriter, r *http.Request) error {
		h.ServeHTTP(w, r)
		return nil
	}
	var out []Route
	for _, op := range []string{
		"POST /api/v1/login/challenge", "POST /api/v1/login", "GET /api/v1/tokens",
		"DELETE /api/v1/tokens/{id}", "POST /login", "POST /logout",
	} {
		method, pattern, _ := strings.Cut(op, " ")
		out = append(out, Route{Method: method, Pattern: pattern, Public: true, Handle: serve})
	}
	return out
}
