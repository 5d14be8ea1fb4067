package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/replay"
)

// ReplayText writes a replay for a person: totals, then each client that
// would see a change, largest first, with examples.
func ReplayText(w io.Writer, r *replay.Report) error {
	fmt.Fprintf(w, "%s: %d accepted by both schemas, %d newly rejected, %d newly accepted, %d rejected by both, %d unreadable",
		plural.Count(r.Total, "request"), r.AcceptedBoth, r.NewlyRejected, r.NewlyAccepted, r.StillRejected, r.ParseErrors)
	var why []string
	if r.MissingField > 0 {
		why = append(why, fmt.Sprintf("%d lack the field %s", r.MissingField, r.Field))
	}
	if r.TooLong > 0 {
		why = append(why, fmt.Sprintf("%d too long", r.TooLong))
	}
	if r.TooDeep > 0 {
		why = append(why, fmt.Sprintf("%d nested too deep", r.TooDeep))
	}
	if len(why) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(why, ", "))
	}
	fmt.Fprintln(w)
	if len(r.Groups) > 1 || len(r.Groups) == 1 && r.Groups[0].Key != "(none)" {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT\tREQUESTS\tNEWLY REJECTED\tNEWLY ACCEPTED\tREJECTED BY BOTH\tUNREADABLE")
		for _, g := range r.Groups {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", g.Key, g.Total, g.NewlyRejected, g.NewlyAccepted, g.StillRejected, g.ParseErrors)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, g := range r.Groups {
		if len(g.Examples) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s would start getting errors on %s, for example:\n", g.Key, plural.Count(g.NewlyRejected, "request"))
		for _, e := range g.Examples {
			fmt.Fprintf(w, "  %s: %s\n", where(e), e.Error)
		}
	}
	if len(r.ParseErrorExamples) > 0 {
		fmt.Fprintln(w, "\nUnreadable lines, for example:")
		for _, e := range r.ParseErrorExamples {
			fmt.Fprintf(w, "  %s: %s\n", where(e), e.Error)
		}
	}
	fmt.Fprintln(w)
	var names []string
	for _, g := range r.Groups {
		if g.NewlyRejected > 0 {
			names = append(names, g.Key)
		}
	}
	switch {
	case r.Documents == 0:
		fmt.Fprintln(w, "No line could be read as a request: nothing was checked.")
	case r.NewlyRejected == 0:
		fmt.Fprintln(w, "No request that the old schema accepted is rejected by the new one.")
	default:
		fmt.Fprintf(w, "%s would start getting errors: %s.\n", plural.Count(len(names), "client"), joinList(names))
	}
	return nil
}

func where(e replay.Example) string {
	if e.File != "" {
		return fmt.Sprintf("%s:%d", e.File, e.Line)
	}
	return fmt.Sprintf("line %d", e.Line)
}

func joinList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	s := ""
	for i, it := range items {
		switch {
		case i == 0:
			s = it
		case i == len(items)-1:
			s += " and " + it
		default:
			s += ", " + it
		}
	}
	return s
}
