package release

import (
	"context"
	"fmt"

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
		if en.Actor == "cascade" {
			continue
		}
		stmt, _ := en.Details["signed"].(string)
		armored, _ := en.Details["signature"].(string)
		if stmt == "" || armored == "" {
			problems = append(problems, fmt.Sprintf("entry %d (%s by %s) is not signed", en.Seq, en.Action, en.Actor))
			continue
		}
		if p := identity.StatementField(stmt, "plan"); p != "" && p != en.Plan {
			problems = append(problems, fmt.Sprintf("entry %d (%s by %s) carries a signature for plan %s, not %s", en.Seq, en.Action, en.Actor, p, en.Plan))
			continue
		}
		if act := identity.StatementField(stmt, "action"); !signedActionMayWrite(act, en.Action) {
			problems = append(problems, fmt.Sprintf("entry %d (%s by %s) carries a signature for a %q action, which never writes a %q entry", en.Seq, en.Action, en.Actor, act, en.Action))
			continue
		}
		err := identity.VerifyAs(ctx, people, en.Actor, &identity.Signature{Statement: stmt, Armored: armored})
		if err != nil {
			problems = append(problems, fmt.Sprintf("entry %d (%s by %s): %v", en.Seq, en.Action, en.Actor, err))
		}
	}
	return problems, nil
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
