package plan

import (
	"fmt"

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
			return fmt.Errorf("change %s: ref: %w", c.Repo, err)
		}
	}
	if c.Base != "" {
		if err := gitrepo.CheckCommitID(c.Base); err != nil {
			return fmt.Errorf("change %s: base: %w", c.Repo, err)
		}
	}
	if err := gitrepo.CheckCommitID(c.Head); err != nil {
		return fmt.Errorf("change %s: head: %w", c.Repo, err)
	}
	if c.Version != "" {
		if err := ValidVersion(c.Version, false); err != nil {
			return fmt.Errorf("change %s: %w", c.Repo, err)
		}
	}
	return nil
}
