package release

import (
	"context"
	"fmt"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// VerifySignatures checks every audit entry made by a person against the
// people's keys: it must carry a signature, by that person's key, over a
// statement of an action on the entry's plan. Entries by cascade itself
// are not signed. Without people nothing can be checked: actors are
// unverified, and nil is returned.
func VerifySignatures(ctx context.Context, people []workspace.Person, entries []store.Entry) ([]string, error) {
	if len(people) == 0 {
		return nil, nil
	}
	var problems []string
	for _, en := range entries {
		problem, err := entrySignatureProblem(ctx, people, en)
		if err != nil {
			return nil, err
		}
		if problem != "" {
			problems = append(problems, problem)
		}
	}
	return problems, nil
}

// entrySignatureProblem says what is wrong with one entry's signature
// ("" when it holds); err is an infrastructure failure.
func entrySignatureProblem(ctx context.Context, people []workspace.Person, en store.Entry) (string, error) {
	if en.Actor == "cascade" {
		return "", nil
	}
	stmt, _ := en.Details["signed"].(string)
	armored, _ := en.Details["signature"].(string)
	if stmt == "" || armored == "" {
		return fmt.Sprintf("entry %d (%s by %s) is not signed", en.Seq, en.Action, en.Actor), nil
	}
	if p := identity.StatementField(stmt, "plan"); p != "" && p != en.Plan {
		return fmt.Sprintf("entry %d (%s by %s) carries a signature for plan %s, not %s", en.Seq, en.Action, en.Actor, p, en.Plan), nil
	}
	if act := identity.StatementField(stmt, "action"); !signedActionMayWrite(act, en.Action) {
		return fmt.Sprintf("entry %d (%s by %s) carries a signature for a %q action, which never writes a %q entry", en.Seq, en.Action, en.Actor, act, en.Action), nil
	}
	err := identity.VerifyAs(ctx, people, en.Actor, &identity.Signature{Statement: stmt, Armored: armored})
	if err != nil {
		if errkind.Of(err) == errkind.Infra {
			return "", err
		}
		return fmt.Sprintf("entry %d (%s by %s): %v", en.Seq, en.Action, en.Actor, err), nil
	}
	return "", nil
}

// entriesOf lists the audit entries each signed action writes (besides
// its own refusal, "ACTION refused").
var entriesOf = map[string][]string{
	"start":         {"start"},
	"next":          {"step start", "step end", "wait", "held", "done", "takeover"},
	"confirm":       {"confirm"},
	"amend":         {"amend"},
	"retry":         {"retry"},
	"override":      {"override", "done"},
	"override-gate": {"override-gate"},
	"abort":         {"abort"},
	"unlock":        {"unlock"},
}

// signedActionMayWrite reports whether the signed action writes entries
// of that kind: a signature moved onto an entry of another kind does not
// hold.
func signedActionMayWrite(action, entry string) bool {
	if entry == action+" refused" {
		return true
	}
	for _, e := range entriesOf[action] {
		if e == entry {
			return true
		}
	}
	return false
}
