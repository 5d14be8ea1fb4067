package plan

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
)

// checkValues checks the values of a change that cascade later gives git:
// the ref must be a ref name (no range, no option), the frozen base and
// head full commit ids, and the version a semantic version. A plan file is
// edited by hand and reviewed like code; a value that could become a git
// option or name something outside the repository is refused here, with
// the key it came from, before any git command runs.
func (c Change) checkValues() error {
	if c.Ref != "" {
		if err := gitrepo.CheckRev(c.Ref); err != nil {
			return &valueError{fmt.Errorf("change %s: ref: %w", c.Repo, err)}
		}
	}
	if c.Base != "" {
		if err := gitrepo.CheckCommitID(c.Base); err != nil {
			return &valueError{fmt.Errorf("change %s: base: %w", c.Repo, err)}
		}
	}
	if err := gitrepo.CheckCommitID(c.Head); err != nil {
		return &valueError{fmt.Errorf("change %s: head: %w", c.Repo, err)}
	}
	if c.Version != "" {
		if err := ValidVersion(c.Version, false); err != nil {
			return &valueError{fmt.Errorf("change %s: %w", c.Repo, err)}
		}
	}
	return nil
}

// valueError is a change's value that checkValues refuses.
type valueError struct{ err error }

func (e *valueError) Error() string { return e.err.Error() }
func (e *valueError) Unwrap() error { return e.err }

// checkValueNodes is checkValues for a plan file's `changes:` as parsed, so
// that each error names the file and the line of the bad value.
func checkValueNodes(file string, changes *yaml.Node) []error {
	if changes == nil || changes.Kind != yaml.SequenceNode {
		return nil
	}
	var errs []error
	for _, c := range changes.Content {
		var ch Change
		for j := 0; j+1 < len(c.Content); j += 2 {
			k, v := c.Content[j], c.Content[j+1]
			if v.Kind != yaml.ScalarNode {
				continue
			}
			one := Change{Repo: ch.Repo, Head: strings.Repeat("0", 40)}
			switch k.Value {
			case "repo":
				ch.Repo = v.Value
				continue
			case "ref":
				one.Ref = v.Value
			case "base":
				one.Base = v.Value
			case "head":
				one.Head = v.Value
			case "version":
				one.Version = v.Value
			default:
				continue
			}
			if err := one.checkValues(); err != nil {
				errs = append(errs, errkind.New(errkind.Invalid, "%s:%d:%d: %v", file, v.Line, v.Column, err))
			}
		}
	}
	return errs
}
