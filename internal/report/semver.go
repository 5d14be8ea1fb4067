package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/cascade-dev/cascade/internal/semver"
)

// SemverText writes the bump verdicts for a person.
func SemverText(w io.Writer, r *semver.Report) error {
	for i, m := range r.Modules {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "%s (%s): %s → %s (%s)\n", m.Module, m.Repo, m.Base, m.Head, short(m.HeadCommit))
		var breaking, compatible []semver.Change
		for _, c := range m.Changes {
			if c.Compatible {
				compatible = append(compatible, c)
			} else {
				breaking = append(breaking, c)
			}
		}
		list := func(title string, cs []semver.Change) {
			if len(cs) == 0 {
				return
			}
			fmt.Fprintf(w, "  %s:\n", title)
			for _, c := range cs {
				fmt.Fprintf(w, "    [%s] %s: %s\n", c.Kind, c.Package, c.Message)
				if c.Witness != nil {
					b, _ := json.Marshal(c.Witness)
					fmt.Fprintf(w, "        example: %s\n", b)
				}
			}
		}
		list("Breaking changes", breaking)
		list("Compatible changes", compatible)
		fmt.Fprintf(w, "  Needs a %s release: %s\n", m.Required, m.Suggested)
		for _, n := range m.Notes {
			fmt.Fprintf(w, "  Note: %s\n", n)
		}
		if m.Proposed != "" {
			if m.OK {
				fmt.Fprintf(w, "  Proposed %s: ok\n", m.Proposed)
			} else {
				fmt.Fprintf(w, "  Proposed %s: REFUSED\n", m.Proposed)
			}
		}
	}
	return nil
}
