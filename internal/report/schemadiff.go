package report

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/schemadiff"
)

// SchemaDiffText writes a schema comparison for a person.
func SchemaDiffText(w io.Writer, oldName, newName string, r schemadiff.Result) error {
	fmt.Fprintf(w, "Comparing %s (old) with %s (new)\n", oldName, newName)
	section := func(title string, fs []schemadiff.Finding, witness string) {
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(w, "\n%s:\n", title)
		for _, f := range fs {
			path := f.Path
			if path == "" || path == "/" {
				path = "(root)"
			}
			fmt.Fprintf(w, "  %s: %s\n", path, f.Message)
			if f.Witness != nil || witness != "" && f.Message != "" {
				if b, err := json.Marshal(f.Witness); err == nil && witness != "" {
					fmt.Fprintf(w, "    %s %s\n", witness, b)
				}
			}
		}
	}
	section("Tightened (the new schema rejects what the old accepted)", r.Tightened, "rejected now:")
	section("Loosened (the new schema accepts what the old rejected)", r.Loosened, "accepted now:")
	section("Unknown (could not be decided; review by hand)", r.Unknown, "")
	fmt.Fprintln(w)
	if len(r.Tightened) > 0 {
		fmt.Fprintf(w, "Breaking: %d tightened: clients sending the instances above would start getting errors.\n", len(r.Tightened))
	}
	if len(r.Unknown) > 0 {
		fmt.Fprintf(w, "Undecided: %s cascade cannot compare; treated as breaking until reviewed.\n", plural.Count(len(r.Unknown), "construct"))
	}
	switch {
	case len(r.Tightened) > 0 || len(r.Unknown) > 0:
		// Said above.
	case len(r.Loosened) > 0:
		fmt.Fprintln(w, "Not breaking: the new schema only accepts more.")
	default:
		fmt.Fprintln(w, "No difference in what the schemas accept.")
	}
	return nil
}
