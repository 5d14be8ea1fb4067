package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// SchemaVersion is the version of the JSON documents the routes answer.
const SchemaVersion = 1

// maxBody bounds a login route's request body.
const maxBody = 64 << 10

// Handler serves the login routes:
//
//	POST   /api/v1/login/challenge  {"person", "purpose": "token"|"web"} -> the statement to sign
//	POST   /api/v1/login            {"person", "nonce", "signature", "name"} -> a token (or a dashboard code)
//	GET    /api/v1/tokens           the caller's API tokens
//	DELETE /api/v1/tokens/{id}      revoke one of them
//	POST   /login                   form: person, code -> a session cookie
//	POST   /logout                  form: csrf_token -> the session ends
//
// State-changing requests made with a session cookie must carry the
// session's CSRF token (see CSRF).
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/login/challenge", s.serveChallenge)
	mux.HandleFunc("POST /api/v1/login", s.serveLogin)
	mux.HandleFunc("GET /api/v1/tokens", s.serveTokens)
	mux.HandleFunc("DELETE /api/v1/tokens/{id}", s.serveRevoke)
	mux.HandleFunc("POST /login", s.serveFormLogin)
	mux.HandleFunc("POST /logout", s.serveLogout)
	return s.CSRF(mux)
}

// Problem is an error response (RFC 9457, application/problem+json),
// with cascade's error kind beside the standard members.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Kind   string `json:"kind"`
}

// Status is the HTTP status of an error's kind.
func Status(err error) int {
	switch errkind.Of(err) {
	case errkind.Invalid:
		return http.StatusBadRequest
	case errkind.NotFound:
		return http.StatusNotFound
	case errkind.Unauthorized:
		return http.StatusUnauthorized
	case errkind.Conflict:
		return http.StatusConflict
	case errkind.Problem:
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// WriteProblem answers err as a problem document with status.
func WriteProblem(w http.ResponseWriter, status int, err error) {
	kind := errkind.Of(err).ID()
	if status == http.StatusForbidden {
		kind = errkind.Unauthorized.ID()
	}
	detail := err.Error()
	if status >= 500 {
		detail = "the server could not do this; its log says why"
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cascade"`)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Problem{
		Type:   "urn:cascade:problem:" + kind,
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
		Kind:   kind,
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads one JSON document of at most maxBody bytes into v,
// refusing unknown fields and trailing data.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return errkind.New(errkind.Invalid, "Content-Type %q: send application/json", ct)
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errkind.Wrap(errkind.Invalid, fmt.Errorf("the request body is over %d bytes: %w", maxBody, err))
		}
		return errkind.New(errkind.Invalid, "the request body is not the JSON document expected: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return errkind.New(errkind.Invalid, "the request body holds more than one JSON document")
	}
	return nil
}

func (s *Service) serveChallenge(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Person  string `json:"person"`
		Purpose string `json:"purpose"`
	}
	if err := decode(w, r, &req); err != nil {
		WriteProblem(w, bodyStatus(err), err)
		return
	}
	c, err := s.NewChallenge(r.Context(), req.Person, req.Purpose)
	if err != nil {
		WriteProblem(w, Status(err), err)
		return
	}
	writeJSON(w, struct {
		SchemaVersion int `json:"schema_version"`
		*Challenge
	}{SchemaVersion, c})
}

// LoginResponse is the answer to a login: an API token, or for a "web"
// challenge a code for the dashboard's login form.
type LoginResponse struct {
	SchemaVersion int    `json:"schema_version"`
	ID            string `json:"id"`
	Person        string `json:"person"`
	Token         string `json:"token,omitempty"`
	Code          string `json:"code,omitempty"`
	Expires       string `json:"expires"`
}

func (s *Service) serveLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Person    string `json:"person"`
		Nonce     string `json:"nonce"`
		Signature string `json:"signature"`
		Name      string `json:"name"`
	}
	if err := decode(w, r, &req); err != nil {
		WriteProblem(w, bodyStatus(err), err)
		return
	}
	if req.Name == "" {
		req.Name = remoteHost(r)
	}
	c, secret, err := s.Login(r.Context(), req.Person, req.Nonce, req.Signature, req.Name)
	if err != nil {
		WriteProblem(w, Status(err), err)
		return
	}
	resp := LoginResponse{SchemaVersion: SchemaVersion, ID: c.ID, Person: c.Person, Expires: c.Expires}
	if c.Kind == "code" {
		resp.Code = secret
	} else {
		resp.Token = secret
	}
	writeJSON(w, resp)
}

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// TokenList is the answer to GET /api/v1/tokens.
type TokenList struct {
	SchemaVersion int          `json:"schema_version"`
	Person        string       `json:"person"`
	Current       string       `json:"current,omitempty"`
	Tokens        []Credential `json:"tokens"`
}

func (s *Service) serveTokens(w http.ResponseWriter, r *http.Request) {
	c, person, err := s.caller(r)
	if err != nil {
		WriteProblem(w, Status(err), err)
		return
	}
	list, err := s.Tokens(r.Context(), person)
	if err != nil {
		WriteProblem(w, Status(err), err)
		return
	}
	out := TokenList{SchemaVersion: SchemaVersion, Person: person, Tokens: list}
	if c.Kind == "token" {
		out.Current = c.ID
	}
	writeJSON(w, out)
}

func (s *Service) serveRevoke(w http.ResponseWriter, r *http.Request) {
	_, person, err := s.caller(r)
	if err != nil {
		WriteProblem(w, Status(err), err)
		return
	}
	id := r.PathValue("id")
	if err := s.Revoke(r.Context(), person, id); err != nil {
		WriteProblem(w, Status(err), err)
		return
	}
	writeJSON(w, struct {
		SchemaVersion int    `json:"schema_version"`
		Revoked       string `json:"revoked"`
	}{SchemaVersion, id})
}

// serveFormLogin exchanges the dashboard login form's code for a session.
func (s *Service) serveFormLogin(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		WriteProblem(w, bodyStatus(err), err)
		return
	}
	next := localPath(r.PostFormValue("next"))
	c, secret, err := s.Redeem(r.Context(), r.PostFormValue("person"), r.PostFormValue("code"), remoteHost(r)+" (dashboard)")
	if err != nil {
		if errkind.Of(err) == errkind.Infra || !strings.Contains(r.Header.Get("Accept"), "text/html") {
			WriteProblem(w, Status(err), err)
			return
		}
		// A person at the form (a browser) sees it again, saying the code
		// was refused.
		q := url.Values{"failed": {"1"}}
		if next != "/" {
			q.Set("next", next)
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, "/login?"+q.Encode(), http.StatusSeeOther)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     SessionCookie,
		Value:    secret,
		Path:     "/",
		Expires:  parseStamp(c.Expires),
		HttpOnly: true,
		Secure:   s.secure(r),
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// localPath is next when it is a path of this site ("/runs/3"), else "/":
// a login form's next never leads to another site ("//evil", "/\\evil",
// "https://...").
func localPath(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n\t\x00") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}

// bodyStatus is the status of a request body that could not be read: 413
// when it is over the limit, else 400.
func bodyStatus(err error) int {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// serveLogout ends the caller's session (the CSRF middleware has checked
// its token).
func (s *Service) serveLogout(w http.ResponseWriter, r *http.Request) {
	c, person, err := s.caller(r)
	if err == nil && c.Kind == "session" {
		err = s.Revoke(r.Context(), person, c.ID)
	}
	if err != nil && !errors.Is(err, ErrNoCredentials) {
		WriteProblem(w, Status(err), err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// CSRFField is the form field (and CSRFHeader the header) that carries a
// session's CSRF token.
const (
	CSRFField  = "csrf_token"
	CSRFHeader = "X-CSRF-Token"
)

// CSRFToken is the CSRF token of r's session, for the forms a page of
// that session shows ("" without a session cookie). It is derived from the
// session's secret, so it changes with each session and cannot be made
// without the cookie.
func CSRFToken(r *http.Request) string {
	ck, err := r.Cookie(SessionCookie)
	if err != nil || ck.Value == "" {
		return ""
	}
	sum := sha256.Sum256([]byte("cascade-csrf\n" + ck.Value))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// CSRF refuses (403) a state-changing request that a browser could have
// been made to send from another site: one that carries the session cookie
// without the session's CSRF token (form field csrf_token, or header
// X-CSRF-Token), and one whose Origin header names another site. A request
// with an Authorization header carries no ambient credential and passes.
// (Person refuses the same requests, so a route that asks who calls is
// protected even where this middleware is not mounted.)
func (s *Service) CSRF(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if status, err := s.checkCSRF(w, r); err != nil {
			WriteProblem(w, status, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// errCSRF is the answer to a session's state-changing request without its
// CSRF token.
var errCSRF = errkind.New(errkind.Unauthorized, "the form's CSRF token is missing or not this session's: reload the page and try again")

// checkCSRF is the CSRF middleware's check: an error and its status when r
// must be refused. w may be nil.
func (s *Service) checkCSRF(w http.ResponseWriter, r *http.Request) (int, error) {
	if safeMethod(r.Method) || r.Header.Get("Authorization") != "" {
		return 0, nil
	}
	if o := r.Header.Get("Origin"); o != "" && s.Origin != "" && o != s.origin() {
		return http.StatusForbidden, errkind.New(errkind.Unauthorized, "a request from %s may not change anything here", o)
	}
	want := CSRFToken(r)
	if want == "" {
		return 0, nil
	}
	got := r.Header.Get(CSRFHeader)
	if got == "" && isForm(r) {
		if err := parseForm(w, r); err != nil {
			return bodyStatus(err), err
		}
		got = r.PostFormValue(CSRFField)
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return http.StatusForbidden, errCSRF
	}
	return 0, nil
}

func isForm(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "application/x-www-form-urlencoded" || mt == "multipart/form-data"
}

// parseForm parses a form body of at most maxBody bytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	if r.PostForm != nil {
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		err = r.ParseMultipartForm(maxBody)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return errkind.Wrap(errkind.Invalid, fmt.Errorf("the form is over %d bytes: %w", maxBody, err))
		}
		return errkind.New(errkind.Invalid, "the form cannot be read: %v", err)
	}
	return nil
}

// secure reports whether the session cookie is sent only over HTTPS: when
// the request came over TLS, or when the server's origin (its public URL,
// behind a proxy that ends TLS) is https.
func (s *Service) secure(r *http.Request) bool {
	return r.TLS != nil || strings.HasPrefix(s.origin(), "https://")
}
