// Package server is `cascade serve`: the team's HTTP API over one
// workspace and one state database. Its handlers return the same JSON
// documents the command line prints with --json (built by package view and
// report), errors as RFC 9457 problem documents whose status follows the
// error's kind, and an OpenAPI 3.1 description of every route.
//
// The graph is scanned once and kept: each request at most once per
// RescanEvery stats the workspace file and the repos' refs (no git runs),
// and only when one of them changed is the workspace scanned again.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Authenticator says who sent a request. Person returns the name of one
// of the workspace's people, "" for an anonymous request, or an error for
// credentials that are present but not valid (expired, revoked, forged).
type Authenticator interface {
	Person(r *http.Request) (string, error)
}

// Route is one operation of the API: a method and a Go ServeMux path
// pattern ("/api/v1/graph", "/api/v1/plans/{plan}") and the handler. A
// handler returns an error instead of writing one: the server renders it
// as a problem document. Public routes are served without a login.
type Route struct {
	Method  string
	Pattern string
	Handle  func(w http.ResponseWriter, r *http.Request) error
	Public  bool
	// Middleware, when set, wraps the route's handler outside the login
	// check (auth's CSRF check).
	Middleware func(http.Handler) http.Handler
}

// Jobs is what runs long work beside the API (verification runs, plan
// checks): the routes it adds, whether it is ready, and its shutdown,
// called once the HTTP server has stopped taking requests. Every route it
// adds must be in the OpenAPI description too.
type Jobs interface {
	Routes() []Route
	Ready(ctx context.Context) error
	Shutdown(ctx context.Context) error
}

// Config is what a server serves and how.
type Config struct {
	// WorkspaceFile is the workspace's cascade.yaml. Workspace, when set,
	// is the workspace already loaded from it; otherwise New loads it.
	WorkspaceFile string
	Workspace     *workspace.Workspace
	// Store is the state database (releases, steps, audit log). The
	// server does not close it.
	Store *store.Store
	// CacheDir holds mirrors of url: repos and the scan cache.
	CacheDir string
	// Logger receives one line per request and the server's events
	// (default: discard).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// PublicRead serves reads without a login. Without it, every API
	// request needs a person from Authenticator; a nil Authenticator then
	// refuses every read with 401.
	PublicRead    bool
	Authenticator Authenticator
	// Routes are more routes to serve beside the server's own (the login
	// routes, say: an http.Handler becomes a Public route whose Handle
	// calls it and returns nil). Like the Jobs' routes, each must be in
	// the OpenAPI description. They may lie outside /api (POST /login): a
	// request one of them matches never reaches Pages.
	Routes []Route
	// Jobs, when set, adds its routes and is shut down with the server.
	Jobs Jobs
	// Actions, when set, serves the release actions (confirm, retry,
	// override, abort, next), signed with the server's key.
	Actions *Actions
	// Pages, when set, serves every path outside the API (/api/...) and
	// the operations routes (/healthz, /readyz, /metrics): the dashboard.
	// It does its own logins and errors; the server measures and logs
	// its requests under the route "pages".
	Pages http.Handler
	// Registry receives the server's metrics and is served at /metrics;
	// nil makes a new one (see Server.Registry to add more).
	Registry *prometheus.Registry
	// RescanEvery is how often, at most, a request checks whether a repo's
	// head changed (default 1s); MaxBody the largest request body
	// (default 1 MiB); ShutdownTimeout how long Serve lets in-flight
	// requests finish once its context is done (default 30s).
	RescanEvery     time.Duration
	MaxBody         int64
	ShutdownTimeout time.Duration
}

// Defaults of Config.
const (
	DefaultRescanEvery     = time.Second
	DefaultMaxBody         = 1 << 20
	DefaultShutdownTimeout = 30 * time.Second
)

// Server is a running API over one workspace.
type Server struct {
	cfg     Config
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *httpMetrics
	routes  []Route
	mux     *http.ServeMux
	handler http.Handler

	status    statusCache
	snap      atomic.Pointer[snapshot]
	refreshMu sync.Mutex
	checked   atomic.Int64 // unix nanoseconds of the last check of the heads
}

// New checks cfg, scans the workspace once and builds the routes.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		return nil, errkind.New(errkind.Invalid, "server: no state database")
	}
	if cfg.WorkspaceFile == "" && cfg.Workspace != nil {
		cfg.WorkspaceFile = cfg.Workspace.File
	}
	if cfg.WorkspaceFile == "" {
		return nil, errkind.New(errkind.Invalid, "server: no workspace file")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RescanEvery <= 0 {
		cfg.RescanEvery = DefaultRescanEvery
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	s := &Server{cfg: cfg, log: cfg.Logger, reg: cfg.Registry}
	m, err := newHTTPMetrics(s.reg)
	if err != nil {
		return nil, err
	}
	s.metrics = m
	snap, err := s.load(context.Background(), cfg.Workspace)
	if err != nil {
		return nil, err
	}
	s.snap.Store(snap)
	s.checked.Store(cfg.Now().UnixNano())
	s.routes = append(s.apiRoutes(), cfg.Routes...)
	if cfg.Jobs != nil {
		s.routes = append(s.routes, cfg.Jobs.Routes()...)
	}
	if cfg.Actions != nil {
		s.routes = append(s.routes, s.actionRoutes(cfg.Actions)...)
	}
	s.mux = http.NewServeMux()
	for _, rt := range s.routes {
		h := s.wrap(rt)
		if rt.Middleware != nil {
			h = rt.Middleware(h)
		}
		s.mux.Handle(rt.Method+" "+rt.Pattern, h)
	}
	s.handler = s.observe(s.mux)
	return s, nil
}

// Handler is the server's whole HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Registry is the Prometheus registry /metrics serves: the jobs runner
// registers its own metrics here.
func (s *Server) Registry() *prometheus.Registry { return s.reg }

// Workspace is the workspace as last scanned, and Graph its graph (see
// the package comment for when it is scanned again).
func (s *Server) Workspace() *workspace.Workspace { return s.current().ws }

// People are the workspace's people as the server trusts them now: none
// while the last rescan of the workspace failed (a cascade.yaml that does
// not read), so that a person or key taken out of a file left broken is
// not kept trusted from the scan before it. Logins and credentials are
// refused meanwhile; /readyz says why.
func (s *Server) People() []workspace.Person {
	snap := s.current()
	if snap.err != "" {
		return nil
	}
	return snap.ws.People
}

// Graph is the workspace's dependency graph as last scanned.
func (s *Server) Graph() *graph.Workspace { return s.current().g }

// ReleaseStatus is plan id's latest release as GET /api/v1/releases/{plan}
// sends it: checked against the audit log (Tampered set when its rows
// cannot be believed), read as that route reads it (shared with the
// requests around it, the check cached while nothing it reads changed).
func (s *Server) ReleaseStatus(ctx context.Context, id string) (*release.Status, error) {
	if err := plan.ValidID(id); err != nil {
		return nil, err
	}
	body, err := s.status.read(ctx, id, func(ctx context.Context) ([]byte, error) { return s.checkedStatus(ctx, id) })
	if err != nil {
		return nil, err
	}
	var st release.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, err
	}
	return &st, nil
}

// Routes lists every route the server serves, in registration order.
func (s *Server) Routes() []Route { return append([]Route(nil), s.routes...) }

// Serve serves HTTP on ln until ctx is done, then shuts down gracefully:
// it stops accepting connections, lets in-flight requests finish for up to
// ShutdownTimeout (then closes them), and shuts the jobs runner down. It
// returns nil after a shutdown asked for by ctx.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "deadline", s.cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		s.log.Warn("in-flight requests did not finish in time; closing their connections")
		err = srv.Close()
	}
	if s.cfg.Jobs != nil {
		err = errors.Join(err, s.cfg.Jobs.Shutdown(sctx))
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}
