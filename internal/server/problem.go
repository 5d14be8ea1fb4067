package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// ProblemType is the prefix of a problem document's "type": the kind's id
// follows ("urn:cascade:problem:not_found").
const ProblemType = "urn:cascade:problem:"

// Problem is an RFC 9457 problem document, with cascade's error kind.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Kind is the error kind's id, as the command line's JSON errors name
	// it: invalid, not_found, conflict, unauthorized, infra, problem,
	// waiting or other.
	Kind string `json:"kind"`
}

// authError is a request without valid credentials: 401, where an
// Unauthorized error of the release engine (not the manager) is 403.
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// httpError is an error that carries its own status (a route that does
// not exist, a method it does not take, a body too large).
type httpError struct {
	status int
	kind   errkind.Kind
	err    error
}

func (e *httpError) Error() string { return e.err.Error() }
func (e *httpError) Unwrap() error { return e.err }

// Status maps an error to its HTTP status: the one table of kinds to
// statuses.
//
//	invalid      400 Bad Request
//	not_found    404 Not Found
//	unauthorized 401 without valid credentials, 403 for a person who may not act
//	conflict     409 Conflict (a held lock, a step already confirmed)
//	waiting      409 Conflict: the release waits for a window or a person;
//	             the kind tells it from a conflict
//	problem      422 Unprocessable Content: the check ran and found a problem
//	infra        502 Bad Gateway: git, go, npm or the database failed
//	other        500 Internal Server Error
func Status(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.status
	}
	var ae *authError
	if errors.As(err, &ae) {
		return http.StatusUnauthorized
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return http.StatusRequestEntityTooLarge
	}
	switch errkind.Of(err) {
	case errkind.Invalid:
		return http.StatusBadRequest
	case errkind.NotFound:
		return http.StatusNotFound
	case errkind.Unauthorized:
		return http.StatusForbidden
	case errkind.Conflict, errkind.Waiting:
		return http.StatusConflict
	case errkind.Problem:
		return http.StatusUnprocessableEntity
	case errkind.Infra:
		return http.StatusBadGateway
	}
	return http.StatusInternalServerError
}

// kindOf is the kind a problem document names for err.
func kindOf(err error) errkind.Kind {
	var he *httpError
	if errors.As(err, &he) {
		return he.kind
	}
	var ae *authError
	if errors.As(err, &ae) {
		return errkind.Unauthorized
	}
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		return errkind.Invalid
	}
	return errkind.Of(err)
}

// ProblemOf is the problem document of err.
func ProblemOf(err error) Problem {
	status := Status(err)
	detail := err.Error()
	if status == http.StatusInternalServerError {
		// An unclassified error may carry paths or internals; the log
		// has it, the client gets the status.
		detail = "an internal error occurred; the server's log has the details"
	}
	return Problem{
		Type:   ProblemType + kindOf(err).ID(),
		Title:  http.StatusText(status),
		Status: status,
		Detail: strings.TrimPrefix(detail, "cascade: "),
		Kind:   kindOf(err).ID(),
	}
}

// WriteProblem writes err as an application/problem+json response.
func WriteProblem(w http.ResponseWriter, err error) {
	p := ProblemOf(err)
	data, _ := json.Marshal(p)
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Del("Content-Length")
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="cascade"`)
	}
	w.WriteHeader(p.Status)
	w.Write(append(data, '\n'))
}
