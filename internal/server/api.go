package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/view"
)

// apiRoutes are the server's own routes. Each one is documented in
// openapi.json (a test holds the two together).
func (s *Server) apiRoutes() []Route {
	metrics := s.metricsHandler()
	return []Route{
		{Method: "GET", Pattern: "/healthz", Public: true, Handle: s.healthz},
		{Method: "GET", Pattern: "/readyz", Public: true, Handle: s.readyz},
		{Method: "GET", Pattern: "/metrics", Public: true, Handle: func(w http.ResponseWriter, r *http.Request) error {
			metrics.ServeHTTP(w, r)
			return nil
		}},
		{Method: "GET", Pattern: "/api/v1/openapi.json", Public: true, Handle: s.openAPI},
		{Method: "GET", Pattern: "/api/v1/graph", Handle: s.graph},
		{Method: "GET", Pattern: "/api/v1/repos", Handle: s.repos},
		{Method: "GET", Pattern: "/api/v1/repos/{repo}", Handle: s.repo},
		{Method: "GET", Pattern: "/api/v1/repos/{repo}/downstream", Handle: s.reach("downstream")},
		{Method: "GET", Pattern: "/api/v1/repos/{repo}/upstream", Handle: s.reach("upstream")},
		{Method: "GET", Pattern: "/api/v1/plans", Handle: s.plans},
		{Method: "GET", Pattern: "/api/v1/plans/{plan}", Handle: s.plan},
		{Method: "GET", Pattern: "/api/v1/releases/{plan}", Handle: s.releaseStatus},
		{Method: "GET", Pattern: "/api/v1/releases/{plan}/log", Handle: s.releaseLog},
		{Method: "GET", Pattern: "/api/v1/audit", Handle: s.audit},
	}
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	return WriteJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// readyz answers 200 when the state database answers and the workspace
// is scanned (and the jobs runner, when there is one, is ready), else 503
// with what is not ready.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	checks := map[string]string{"store": "ok", "workspace": "ok"}
	ready := true
	if err := s.cfg.Store.DB.QueryRowContext(ctx, "SELECT 1").Scan(new(int)); err != nil {
		checks["store"], ready = fmt.Sprintf("%s (%s): %v", s.cfg.Store.Path, s.cfg.Store.Backend(), err), false
	}
	snap := s.current()
	if snap == nil || snap.g == nil {
		checks["workspace"], ready = "not scanned", false
	} else if snap.err != "" {
		// The last scan still serves: ready, but say the rescan failed.
		checks["workspace"] = "serving the scan of " + snap.at.UTC().Format(time.RFC3339) + "; rescanning failed: " + snap.err
	}
	if s.cfg.Jobs != nil {
		checks["jobs"] = "ok"
		if err := s.cfg.Jobs.Ready(ctx); err != nil {
			checks["jobs"], ready = err.Error(), false
		}
	}
	status, word := http.StatusOK, "ready"
	if !ready {
		status, word = http.StatusServiceUnavailable, "not ready"
	}
	return WriteJSON(w, status, map[string]any{"status": word, "checks": checks})
}

func (s *Server) graph(w http.ResponseWriter, r *http.Request) error {
	writeRaw(w, http.StatusOK, "application/json", s.current().graphJSON)
	return nil
}

func (s *Server) repos(w http.ResponseWriter, r *http.Request) error {
	snap := s.current()
	out := make([]any, 0, len(snap.g.Repos))
	for _, repo := range snap.g.Repos {
		out = append(out, snap.repos[repo.Name])
	}
	return WriteJSON(w, http.StatusOK, map[string]any{"repos": out})
}

// repo is one repo of the graph, found by its name, Go module path or npm
// package name (a module path's slashes escaped as %2F).
func (s *Server) repo(w http.ResponseWriter, r *http.Request) error {
	snap := s.current()
	n, err := snap.g.Lookup(r.PathValue("repo"))
	if err != nil {
		return notFound(err)
	}
	return WriteJSON(w, http.StatusOK, snap.repos[snap.g.Name(n)])
}

func (s *Server) reach(dir string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		direct, err := boolParam(r, "direct")
		if err != nil {
			return err
		}
		g := s.current().g
		if _, err := g.Lookup(r.PathValue("repo")); err != nil {
			return notFound(err)
		}
		doc, err := view.Reach(g, dir, r.PathValue("repo"), direct)
		if err != nil {
			return err
		}
		return WriteJSON(w, http.StatusOK, doc)
	}
}

func (s *Server) plans(w http.ResponseWriter, r *http.Request) error {
	doc, err := view.PlanList(s.current().ws)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, doc)
}

// planID is the request's {plan}, checked before it names a file: a
// plan id is a lower-case name, never a path.
func planID(r *http.Request) (string, error) {
	id := r.PathValue("plan")
	if err := plan.ValidID(id); err != nil {
		return "", err
	}
	return id, nil
}

func (s *Server) plan(w http.ResponseWriter, r *http.Request) error {
	id, err := planID(r)
	if err != nil {
		return err
	}
	p, err := plan.Load(s.current().ws, id)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, p)
}

// engine is a release engine over the server's store, for reads.
func (s *Server) engine() *release.Engine { return s.engineFor(s.current()) }

func (s *Server) engineFor(snap *snapshot) *release.Engine {
	return &release.Engine{Store: s.cfg.Store, WS: snap.ws, CacheDir: s.cfg.CacheDir, Now: s.cfg.Now,
		Log: func(format string, args ...any) { s.log.Info(fmt.Sprintf(format, args...)) }}
}

// releaseStatus is `cascade release status PLAN --json`: rows that do not
// match the audit log are still sent, with "tampered" saying why.
func (s *Server) releaseStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := planID(r)
	if err != nil {
		return err
	}
	body, err := s.status.read(r.Context(), id, func(ctx context.Context) ([]byte, error) { return s.checkedStatus(ctx, id) })
	// (ReleaseStatus in server.go reads the same way.)
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, "application/json", body)
	return nil
}

// releaseLog is `cascade release log PLAN --json`, with ?verify=true
// `--verify`: a log that fails the check is still sent (verified false,
// the problems listed).
func (s *Server) releaseLog(w http.ResponseWriter, r *http.Request) error {
	id, err := planID(r)
	if err != nil {
		return err
	}
	check, err := boolParam(r, "verify")
	if err != nil {
		return err
	}
	l, err := view.ReleaseLog(r.Context(), s.engine(), id, check)
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, l.Document())
}

// audit is the whole audit log with the check of its hash chain and
// signatures.
func (s *Server) audit(w http.ResponseWriter, r *http.Request) error {
	a, err := view.AuditLog(r.Context(), s.cfg.Store, s.Workspace())
	if err != nil {
		return err
	}
	return WriteJSON(w, http.StatusOK, a)
}

// notFound is a repo lookup's failure as the API says it: the command
// line calls a name it cannot find bad input (exit 2), but a URL path
// naming no repo is a resource that does not exist.
func notFound(err error) error {
	if errkind.Of(err) == errkind.Invalid {
		return errkind.Wrap(errkind.NotFound, err)
	}
	return err
}

// boolParam reads the query parameter name: absent is false; true, false,
// 1 and 0 are accepted.
func boolParam(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errkind.New(errkind.Invalid, "query parameter %s=%q: want true or false", name, v)
	}
	return b, nil
}
