package server

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cascade-dev/cascade/internal/auth"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Actions are the release actions people take through the server (the
// API and the dashboard's forms). The server signs the audit entries of
// an action with its own key, for the logged-in person: it must be listed
// under cascade.yaml `servers:` with that key's public half.
type Actions struct {
	// KeyFile is the server's SSH private key; PublicKey its public line.
	KeyFile, PublicKey string
	// Middleware wraps each action's route before the login is checked
	// (auth's CSRF check, so that a form without its token is a 403).
	Middleware func(http.Handler) http.Handler
	// Changed is called after an action changed plan's release (the
	// dashboard refreshes its page). Nil: nothing is told.
	Changed func(plan string)

	mu    sync.Mutex
	plans map[string]*sync.Mutex
}

// lock serialises the actions on one plan in this process: of two
// confirmations of the same step, the second sees the first's result
// (and is refused with a conflict, writing nothing).
func (a *Actions) lock(planID string) func() {
	a.mu.Lock()
	if a.plans == nil {
		a.plans = map[string]*sync.Mutex{}
	}
	m := a.plans[planID]
	if m == nil {
		m = &sync.Mutex{}
		a.plans[planID] = m
	}
	a.mu.Unlock()
	m.Lock()
	return m.Unlock
}

// ServerName is the `servers:` entry of ws whose keys hold publicKey, or
// "" when none does.
func ServerName(ws *workspace.Workspace, publicKey string) string {
	for _, s := range ws.Servers {
		for _, k := range s.Keys {
			if auth.SameKey(k, publicKey) {
				return s.Name
			}
		}
	}
	return ""
}

func (s *Server) actionRoutes(a *Actions) []Route {
	route := func(pattern, action string, step bool) Route {
		return Route{Method: "POST", Pattern: pattern, Middleware: a.Middleware, Handle: func(w http.ResponseWriter, r *http.Request) error {
			return s.act(w, r, a, action, step)
		}}
	}
	return []Route{
		route("/api/v1/releases/{plan}/steps/{step}/confirm", "confirm", true),
		route("/api/v1/releases/{plan}/steps/{step}/retry", "retry", true),
		route("/api/v1/releases/{plan}/steps/{step}/override", "override", true),
		route("/api/v1/releases/{plan}/abort", "abort", false),
		route("/api/v1/releases/{plan}/next", "next", false),
	}
}

// ActionRequest is the JSON body of a release action (all optional):
// confirm's inputs, override's and abort's reason.
type ActionRequest struct {
	Inputs map[string]string `json:"inputs,omitempty"`
	Reason string            `json:"reason,omitempty"`
}

// forbidden is a person who may not act: 403.
func forbidden(format string, args ...any) error {
	return &httpError{http.StatusForbidden, errkind.Unauthorized, fmt.Errorf(format, args...)}
}

// act runs one release action for the logged-in person. A form post (the
// dashboard) is answered with a redirect back to the release's page, a
// JSON one with the release's status.
func (s *Server) act(w http.ResponseWriter, r *http.Request, a *Actions, action string, withStep bool) error {
	id, err := planID(r)
	if err != nil {
		return err
	}
	stepArg := r.PathValue("step")
	var req ActionRequest
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	form := ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data"
	switch {
	case form:
		if err := r.ParseForm(); err != nil {
			return errkind.New(errkind.Invalid, "the form cannot be read: %v", err)
		}
		req.Reason = r.PostForm.Get("reason")
		for k, v := range r.PostForm {
			if name, ok := strings.CutPrefix(k, "input."); ok && len(v) > 0 {
				if req.Inputs == nil {
					req.Inputs = map[string]string{}
				}
				req.Inputs[name] = v[0]
			}
		}
	case r.ContentLength != 0:
		if err := DecodeJSON(r, &req); err != nil {
			return err
		}
	}
	person := PersonOf(r.Context())
	if person == "" {
		return &authError{errkind.New(errkind.Unauthorized, "log in first: cascade login --server URL")}
	}
	snap := s.current()
	server := ServerName(snap.ws, a.PublicKey)
	if server == "" {
		return forbidden("this server cannot sign release actions yet: list its key under `servers:` in %s (name: a name for this server; keys: [%q]), then act again", snap.ws.File, strings.TrimSpace(a.PublicKey))
	}
	unlock := a.lock(id)
	defer unlock()
	st, err := s.ReleaseStatus(r.Context(), id)
	if err != nil {
		return err
	}
	if st.Manager != person {
		return forbidden("only the release manager of %s (%s) may act on its release; %s may not", id, st.Manager, person)
	}
	args := map[string]string{}
	switch action {
	case "confirm":
		var lines []string
		for k, v := range req.Inputs {
			lines = append(lines, k+"="+v)
		}
		sort.Strings(lines)
		args["step"], args["inputs"], args["reason"] = stepArg, strings.Join(lines, "\n"), ""
	case "retry":
		args["step"] = stepArg
	case "override":
		args["step"], args["reason"] = stepArg, req.Reason
	case "abort":
		args["reason"] = req.Reason
	}
	if !withStep {
		stepArg = ""
	}
	e := s.engineFor(snap)
	e.G = snap.g
	e.LookupEnv = os.LookupEnv
	// The action goes on when the client goes away: what it writes is
	// one piece.
	ctx := context.WithoutCancel(r.Context())
	if err := e.ActThrough(ctx, server, a.KeyFile, person, id, action, args); err != nil {
		return err
	}
	switch action {
	case "confirm":
		_, err = e.Confirm(ctx, id, stepArg, person, req.Inputs)
	case "retry":
		_, err = e.Retry(ctx, id, stepArg, person)
	case "override":
		if strings.TrimSpace(req.Reason) == "" {
			return errkind.New(errkind.Invalid, "an override needs a reason (recorded)")
		}
		_, err = e.Override(ctx, id, stepArg, person, req.Reason)
	case "abort":
		if strings.TrimSpace(req.Reason) == "" {
			return errkind.New(errkind.Invalid, "an abort needs a reason (recorded)")
		}
		_, err = e.Abort(ctx, id, person, req.Reason)
	case "next":
		var p *plan.Plan
		if p, err = plan.Load(snap.ws, id); err == nil {
			rc := http.NewResponseController(w)
			if derr := rc.SetWriteDeadline(time.Time{}); derr != nil && !errors.Is(derr, http.ErrNotSupported) {
				return derr
			}
			_, err = e.Next(ctx, p, person)
		}
	}
	if a.Changed != nil {
		a.Changed(id)
	}
	if err != nil {
		return err
	}
	if form {
		http.Redirect(w, r, "/releases/"+id, http.StatusSeeOther)
		return nil
	}
	body, err := s.checkedStatus(ctx, id)
	if err != nil {
		return err
	}
	writeRaw(w, http.StatusOK, "application/json", body)
	return nil
}
