package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/auth"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/store"
)

// Client mode: with the global --server URL (or $CASCADE_SERVER) the read
// commands ask that cascade server for the document they print with --json
// instead of reading the workspace here, and render it as local mode does.

// remote is the server the global --server or $CASCADE_SERVER names, nil
// when the command runs locally.
type remote struct {
	client *auth.Client
	token  string
	person string
}

// remoteServer is the server this run acts through (nil: none), with the
// token stored for it. Plain http:// is refused unless the host is this
// machine's loopback: the token would travel unencrypted.
func (a *app) remoteServer() (*remote, error) {
	server := a.server
	if server == "" {
		server = a.getenv("CASCADE_SERVER")
	}
	if server == "" {
		return nil, nil
	}
	c, err := auth.NewClient(server)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(c.Server, "http://") && !isLoopback(c.Server) {
		return nil, errkind.New(errkind.Invalid, "%s is plain HTTP and not this machine: the token would travel unencrypted; use https://", c.Server)
	}
	t, err := a.storedToken(c)
	if err != nil {
		return nil, err
	}
	return &remote{client: c, token: t.Token, person: t.Person}, nil
}

// maxDocument bounds what is read of a server's document.
const maxDocument = 64 << 20

// get fetches path from the server: the body of a 2xx answer; a 401 asks
// to log in again (exit 2), another problem is an error of the kind its
// status says, a server that does not answer is exit 3.
func (r *remote) get(ctx context.Context, path string) ([]byte, error) {
	return r.do(ctx, "GET", path, nil)
}

// do sends a request (body nil: none; else JSON) and answers as get.
func (r *remote) do(ctx context.Context, method, path string, body any) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.client.Server+path, rd)
	if err != nil {
		return nil, errkind.Wrap(errkind.Invalid, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+r.token)
	// The token goes to the server it was stored for alone: no redirects.
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, errkind.New(errkind.Infra, "cannot reach the cascade server at %s: %v", r.client.Server, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxDocument+1))
	if err != nil {
		return nil, errkind.New(errkind.Infra, "reading the answer of %s: %v", r.client.Server, err)
	}
	if len(data) > maxDocument {
		return nil, errkind.New(errkind.Infra, "%s%s answered more than %d MiB", r.client.Server, path, maxDocument>>20)
	}
	if resp.StatusCode/100 == 2 {
		if !json.Valid(data) {
			return nil, errkind.New(errkind.Infra, "%s%s answered what is not cascade's JSON; is %s a cascade server?", r.client.Server, path, r.client.Server)
		}
		return data, nil
	}
	detail := strings.TrimSpace(string(data))
	var p auth.Problem
	if json.Unmarshal(data, &p) == nil && p.Detail != "" {
		detail = p.Detail
	}
	if len(detail) > 500 {
		detail = detail[:500] + "..."
	}
	if resp.StatusCode == http.StatusUnauthorized {
		return nil, errkind.New(errkind.Invalid, "%s refused the stored token (%s): run `cascade login --server %s` again", r.client.Server, detail, r.client.Server)
	}
	// The problem's kind is the kind of the error the server met: the
	// same exit code and JSON kind as the local command's.
	for k := errkind.Invalid; k <= errkind.Waiting; k++ {
		if p.Kind != "" && p.Kind == k.ID() && resp.StatusCode/100 == 4 {
			return nil, errkind.New(k, "%s", detail)
		}
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return nil, errkind.New(errkind.Invalid, "%s refused the stored token (%s): run `cascade login --server %s` again", r.client.Server, detail, r.client.Server)
	case http.StatusForbidden:
		return nil, errkind.New(errkind.Unauthorized, "%s", detail)
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return nil, errkind.New(errkind.Invalid, "%s", detail)
	case http.StatusNotFound:
		return nil, errkind.New(errkind.NotFound, "%s", detail)
	case http.StatusConflict:
		return nil, errkind.New(errkind.Conflict, "%s", detail)
	}
	return nil, errkind.New(errkind.Infra, "%s%s: %s (HTTP %d)", r.client.Server, path, detail, resp.StatusCode)
}

// fetchDoc gets path, decodes it into out (when not nil) and, with asJSON,
// prints the document as is (the server prints it as the local command
// does).
func (a *app) fetchDoc(r *remote, path string, asJSON bool, out any) (printed bool, err error) {
	data, err := r.get(a.ctx, path)
	if err != nil {
		return false, err
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return false, errkind.New(errkind.Infra, "%s%s: the document does not decode (%v); are this cascade and the server the same version?", r.client.Server, path, err)
		}
	}
	if asJSON {
		_, err = a.stdout.Write(data)
		return true, err
	}
	return false, nil
}

// pathSeg escapes one path segment (a module path's slashes too).
func pathSeg(s string) string { return url.PathEscape(s) }

// remoteLocation is the time zone text output is shown in: the policy's
// of the workspace here when there is one (the server's is the same
// cascade.yaml), else UTC.
func (a *app) remoteLocation() *time.Location {
	if a.workspaceFile == "" {
		if _, err := os.Stat("cascade.yaml"); err != nil {
			return time.UTC
		}
	}
	ws, err := a.loadWorkspace()
	if err != nil || ws.Policy.Location == nil {
		return time.UTC
	}
	return ws.Policy.Location
}

// printRemoteLog is printLog over the server's document.
func (a *app) printRemoteLog(r *remote, planID string, verifyChain, asJSON bool) error {
	path := "/api/v1/releases/" + pathSeg(planID) + "/log"
	if verifyChain {
		path += "?verify=true"
	}
	var doc struct {
		Entries        []store.Entry `json:"entries"`
		ActorsVerified bool          `json:"actors_verified"`
		Problems       []string      `json:"problems"`
	}
	printed, err := a.fetchDoc(r, path, asJSON, &doc)
	if err != nil {
		return err
	}
	if !printed {
		if !doc.ActorsVerified {
			fmt.Fprintln(a.stdout, "actors unverified: cascade.yaml lists no people, so the names below are what each person's user name said")
		}
		if err := report.AuditText(a.stdout, doc.Entries, verifyChain, doc.Problems, a.remoteLocation()); err != nil {
			return err
		}
	}
	if len(doc.Problems) > 0 {
		return &silentError{errkind.New(errkind.Problem, "the audit log was tampered with")}
	}
	return nil
}

// clientCommands are the commands that act through a server with the
// global --server.
var clientCommands = map[string]bool{
	"cascade release status": true, "cascade release abort": true, "cascade release retry": true,
	"cascade release override": true, "cascade release confirm": true, "cascade release log": true, "cascade plan list": true, "cascade plan show": true,
	"cascade downstream": true, "cascade upstream": true, "cascade graph": true,
}

// checkClientMode refuses the global --server on a command that would
// ignore it and act here (login and token have their own --server).
//
// With the server named by $CASCADE_SERVER only (no --server), a release
// or plan command that cannot act through it is refused too — it would
// change or read the state here while its user means the team's — and
// the other commands (verify, semver, login, ...) run here as usual.
func checkClientMode(cmd *cobra.Command, server, envServer string) error {
	if clientCommands[cmd.CommandPath()] {
		return nil
	}
	if server != "" {
		return errkind.New(errkind.Invalid, "`%s` does not act through a server yet; run it without --server (it acts on the workspace and state database here)", cmd.CommandPath())
	}
	path := cmd.CommandPath()
	if envServer != "" && (strings.HasPrefix(path, "cascade release ") || strings.HasPrefix(path, "cascade plan ")) {
		return errkind.New(errkind.Invalid, "`%s` does not act through a server yet, and CASCADE_SERVER=%s says you mean the server's state: unset CASCADE_SERVER to act on the workspace and state database here", path, envServer)
	}
	return nil
}

// remoteAction takes a release action through the server: POST path with
// body; the answer is the release's status after it.
func (a *app) remoteAction(r *remote, planID, action, step string, body map[string]any) (*release.Status, *release.Step, error) {
	path := "/api/v1/releases/" + pathSeg(planID) + "/" + action
	if step != "" {
		path = "/api/v1/releases/" + pathSeg(planID) + "/steps/" + pathSeg(step) + "/" + action
	}
	data, err := r.do(a.ctx, "POST", path, body)
	if err != nil {
		return nil, nil, err
	}
	var st release.Status
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, nil, errkind.New(errkind.Infra, "%s%s: the status does not decode (%v)", r.client.Server, path, err)
	}
	if step == "" {
		return &st, nil, nil
	}
	s, err := release.FindStep(&st, step)
	if err != nil {
		return nil, nil, errkind.New(errkind.Infra, "%s%s: the status after the action has no step %s (%v)", r.client.Server, path, step, err)
	}
	return &st, s, nil
}
