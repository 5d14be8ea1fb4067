package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/store"
)

// ReleaseStatus writes a release's steps for a person.
func ReleaseStatus(w io.Writer, st *release.Status, loc *time.Location) error {
	fmt.Fprintf(w, "Release of %s: %s (manager %s, started %s)\n", st.Plan, st.State, st.Manager, humanTime(st.Started, loc))
	if st.Reason != "" {
		fmt.Fprintf(w, "Reason: %s\n", st.Reason)
	}
	for _, o := range st.GateOverrides {
		fmt.Fprintf(w, "Gate %s overridden by %s at %s: %s\n", o.Gate, o.By, Stamp(o.At, loc), o.Reason)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tREPO\tSTEP\tKIND\tSTATE\tBY\tAT")
	for _, s := range st.Steps {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Index, s.Repo, s.Name, s.Kind, s.State, s.Actor, humanTime(s.At, loc))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range st.Steps {
		if s.Output != "" && (s.State == release.Failed || s.State == release.Running) {
			fmt.Fprintf(w, "\nstep %d output:\n%s\n", s.Index, lastLines(s.Output, 15))
		}
	}
	return nil
}

// AuditText writes an audit log for a person.
func AuditText(w io.Writer, entries []store.Entry, verified bool, problems []string, loc *time.Location) error {
	for _, e := range entries {
		// The signature and its statement are in --json; the text says
		// whether the entry is signed.
		shown := map[string]any{}
		for k, v := range e.Details {
			if k != "signature" && k != "signed" {
				shown[k] = v
			}
		}
		details, _ := json.Marshal(shown)
		mark := ""
		if _, ok := e.Details["signature"]; ok {
			mark = "(signed) "
			// An entry signed through a server says so: the server's key
			// signed it for the actor, not the actor's own.
			stmt, _ := e.Details["signed"].(string)
			if via, err := strconv.Unquote(identity.StatementField(stmt, identity.ViaArg)); err == nil && via != "" {
				mark = "(signed via server " + via + ") "
			}
		}
		fmt.Fprintf(w, "%4d  %s  %-10s %-12s %s%s\n", e.Seq, humanTime(e.At, loc), e.Actor, e.Action, mark, details)
	}
	if verified {
		if len(problems) == 0 {
			fmt.Fprintf(w, "\naudit log verified: %s, hash chain intact\n", plural.Count(len(entries), "entry"))
		} else {
			fmt.Fprintf(w, "\nAUDIT LOG TAMPERED WITH:\n  %s\n", strings.Join(problems, "\n  "))
		}
	}
	return nil
}

// ReleaseStop writes why `release next` stopped, with the end of a failed
// step's output.
func ReleaseStop(w io.Writer, stop release.Stop) error {
	fmt.Fprintln(w, stop.Message)
	if s := stop.Step; s != nil && s.State == release.Failed && s.Output != "" {
		fmt.Fprintf(w, "output:\n%s\n", indent(lastLines(s.Output, 20), "  "))
	}
	return nil
}

// humanTime is a recorded time (RFC 3339, to the nanosecond) as a person
// reads it: to the second, in loc (the policy's time zone; UTC when nil).
// JSON keeps the recorded value.
func humanTime(s string, loc *time.Location) string {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return s
	}
	return Stamp(t, loc)
}

// Stamp is t as a person reads it: to the second, in loc (UTC when nil),
// with the zone's name.
func Stamp(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// Undo writes what an aborted release already did, for a person to undo.
func Undo(w io.Writer, done []release.Effect) error {
	if len(done) == 0 {
		_, err := fmt.Fprintln(w, "it changed nothing yet: no step that acts had run")
		return err
	}
	fmt.Fprintln(w, "what it already did (nothing is undone by the abort):")
	for _, d := range done {
		fmt.Fprintf(w, "  step %d (%s, %s): %s\n    undo: %s\n", d.Step, d.Name, d.Repo, d.What, d.Undo)
	}
	return nil
}
