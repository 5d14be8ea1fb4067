package yamlfile

import (
	"errors"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// Problems collects every problem a reader finds in a file, so that it
// reports them all at once instead of stopping at the first: a reader
// adds each problem and carries on with the next entry.
type Problems []error

// Add adds err (nothing when nil; each problem of a list).
func (p *Problems) Add(err error) {
	if err != nil {
		*p = append(*p, Split(err)...)
	}
}

// Err is nil for no problem, the problem itself for one, and for several
// an Invalid error whose message lists them, one a line.
func (p Problems) Err() error {
	switch len(p) {
	case 0:
		return nil
	case 1:
		return p[0]
	}
	return errkind.Wrap(errkind.Invalid, &listError{errs: append([]error(nil), p...)})
}

// listError is several problems of input.
type listError struct{ errs []error }

func (e *listError) Error() string {
	msgs := make([]string, len(e.errs))
	for i, err := range e.errs {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "\n")
}

func (e *listError) Unwrap() []error { return e.errs }

// Split returns the problems err holds: those of a Problems list, or err
// itself.
func Split(err error) []error {
	if err == nil {
		return nil
	}
	var l *listError
	if errors.As(err, &l) {
		return l.errs
	}
	return []error{err}
}
