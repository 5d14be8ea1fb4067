package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/report"
)

type infoKey struct{}

// requestInfo is what the handler learns about a request that the
// request's log line reports.
type requestInfo struct{ person string }

// PersonOf is the person a request was authenticated as, or "" for an
// anonymous read the server allows (--public-read).
func PersonOf(ctx context.Context) string {
	if info, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return info.person
	}
	return ""
}

// wrap turns a route's handler into an http.Handler: it limits the body,
// finds the person (refusing a request without one unless the route is
// public or reads are), and renders a returned error as a problem.
func (s *Server) wrap(rt Route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
		if !rt.Public {
			person, err := s.authenticate(r, rt.Method)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if info, ok := r.Context().Value(infoKey{}).(*requestInfo); ok {
				info.person = person
			}
		}
		if err := rt.Handle(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// authenticate is who sent r: a person, or "" for a read when reads are
// public. Without an Authenticator only public reads are served.
func (s *Server) authenticate(r *http.Request, method string) (string, error) {
	read := method == http.MethodGet || method == http.MethodHead
	if s.cfg.Authenticator == nil {
		if read && s.cfg.PublicRead {
			return "", nil
		}
		return "", &authError{errkind.New(errkind.Unauthorized, "this server needs a login (cascade login --server URL), and it has no way to log in yet; start it with --public-read to serve reads without one")}
	}
	person, err := s.cfg.Authenticator.Person(r)
	if err != nil {
		if errkind.Of(err) == errkind.Infra {
			return "", err
		}
		return "", &authError{err}
	}
	if person == "" && !(read && s.cfg.PublicRead) {
		return "", &authError{errkind.New(errkind.Unauthorized, "log in first: cascade login --server URL")}
	}
	return person, nil
}

// fail renders err and logs it: server errors at error level, the
// client's at debug.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := Status(err)
	if status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", status, "err", err.Error())
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", status, "err", err.Error())
	}
	WriteProblem(w, err)
}

// WriteJSON writes doc as the command line prints it with --json
// (indented, with "schema_version" first) and status.
func WriteJSON(w http.ResponseWriter, status int, doc any) error {
	var b bytes.Buffer
	if err := report.JSON(&b, doc); err != nil {
		return err
	}
	writeRaw(w, status, "application/json", b.Bytes())
	return nil
}

func writeRaw(w http.ResponseWriter, status int, contentType string, data []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(data)
}

// DecodeJSON reads r's body, one JSON object, into v: a body that is not
// JSON, holds an unknown field or more than one value, or is larger than
// the server's limit is an Invalid error naming what is wrong (413 for
// the size).
func DecodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &httpError{http.StatusUnsupportedMediaType, errkind.Invalid, fmt.Errorf("the body is %s; send application/json", ct)}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mb *http.MaxBytesError
		switch {
		case errors.As(err, &mb):
			return &httpError{http.StatusRequestEntityTooLarge, errkind.Invalid, fmt.Errorf("the body is larger than %d bytes", mb.Limit)}
		case errors.Is(err, io.EOF):
			return errkind.New(errkind.Invalid, "the body is empty; send one JSON object")
		}
		return errkind.New(errkind.Invalid, "the body is not a valid JSON request: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return &httpError{http.StatusRequestEntityTooLarge, errkind.Invalid, fmt.Errorf("the body is larger than %d bytes", mb.Limit)}
		}
		return errkind.New(errkind.Invalid, "the body holds more than one JSON value; send one object")
	}
	return nil
}

// statusWriter records the status a handler wrote. For a request no route
// matched (the mux's own 404 and 405, in plain text), it writes a problem
// document instead.
type statusWriter struct {
	http.ResponseWriter
	r        *http.Request
	status   int
	replaced bool
	// keep is set for the pages, which answer their own errors: their
	// status is only recorded.
	keep bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status != 0 {
		return
	}
	w.status = code
	if !w.keep && w.r.Pattern == "" && code >= 400 {
		w.replaced = true
		err := &httpError{code, errkind.NotFound, fmt.Errorf("no route %s %s; GET /api/v1/openapi.json lists the routes", w.r.Method, w.r.URL.EscapedPath())}
		if code == http.StatusMethodNotAllowed {
			err = &httpError{code, errkind.Invalid, fmt.Errorf("%s does not take %s; it takes %s", w.r.URL.EscapedPath(), w.r.Method, w.Header().Get("Allow"))}
		}
		WriteProblem(w.ResponseWriter, err)
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe serves every request through the mux, measuring it (duration by
// route pattern and status, in flight) and logging one line for it.
func (s *Server) observe(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.inFlight.Inc()
		defer s.metrics.inFlight.Dec()
		info := &requestInfo{}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		pages := s.cfg.Pages != nil && !apiPath(r.URL.Path)
		sw := &statusWriter{ResponseWriter: w, r: r, keep: pages}
		if pages {
			s.cfg.Pages.ServeHTTP(sw, r)
		} else {
			mux.ServeHTTP(sw, r)
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		d := time.Since(start)
		route := r.Pattern
		switch {
		case pages:
			route = "pages"
		case route == "":
			route = "unmatched"
		}
		s.metrics.duration.WithLabelValues(route, fmt.Sprint(sw.status)).Observe(d.Seconds())
		s.log.Info("request", "method", r.Method, "path", r.URL.EscapedPath(), "route", route, "status", sw.status,
			"duration_ms", float64(d.Microseconds())/1000, "person", info.person)
	})
}

// apiPath reports whether path belongs to the API and operations routes
// rather than to the pages.
func apiPath(path string) bool {
	switch path {
	case "/api", "/healthz", "/readyz", "/metrics":
		return true
	}
	return strings.HasPrefix(path, "/api/")
}
