// Package errkind classifies cascade's errors into the few kinds a user acts
// on differently. The command line maps each kind to one exit code; a server
// would map the same kinds to HTTP statuses.
package errkind

import (
	"errors"
	"fmt"
)

// Kind says what went wrong, in terms of what the user should do about it.
type Kind int

const (
	// Other is an error of no particular kind: treated as infrastructure.
	Other Kind = iota
	// Invalid is bad usage or bad input: the user must change what they gave.
	Invalid
	// NotFound is a name, ref or file that does not exist.
	NotFound
	// Conflict is a request that clashes with the current state (a held lock).
	Conflict
	// Unauthorized is an actor who may not do what they asked.
	Unauthorized
	// Infra is a failure of the tools cascade runs (git, go, npm) or of the machine.
	Infra
	// Problem is a check that ran and found something wrong: a regression,
	// an under-bump, a failed gate.
	Problem
	// Waiting is a release that waits for a release window or a person.
	Waiting
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not found"
	case Conflict:
		return "conflict"
	case Unauthorized:
		return "unauthorized"
	case Infra:
		return "infrastructure"
	case Problem:
		return "problem"
	case Waiting:
		return "waiting"
	}
	return "error"
}

// ID is the kind's name in JSON documents: invalid, not_found, conflict,
// unauthorized, infra, problem, waiting, or other.
func (k Kind) ID() string {
	switch k {
	case Invalid:
		return "invalid"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case Unauthorized:
		return "unauthorized"
	case Infra:
		return "infra"
	case Problem:
		return "problem"
	case Waiting:
		return "waiting"
	}
	return "other"
}

// Error is an error with a kind.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// New returns an error of kind k with a formatted message; %w verbs wrap.
func New(k Kind, format string, args ...any) error {
	return &Error{Kind: k, Err: fmt.Errorf(format, args...)}
}

// Wrap gives err the kind k, keeping its message. A nil err stays nil.
func Wrap(k Kind, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Kind: k, Err: err}
}

// Of returns the kind of the outermost classified error in err's chain, or
// Other when none is classified.
func Of(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Other
}
