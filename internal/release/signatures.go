package release

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

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
	stmt, _ := en.Details["signed"].(string)
	armored, _ := en.Details["signature"].(string)
	if en.Actor == workspace.ReservedActor && stmt == "" && armored == "" {
		if slices.Contains(automaticEntries, en.Action) {
			return "", nil
		}
		return fmt.Sprintf("entry %d (%s by cascade) is not signed, and cascade makes no %q entry on its own (its own are %s)", en.Seq, en.Action, en.Action, strings.Join(automaticEntries, ", ")), nil
	}
	if stmt == "" || armored == "" {
		return fmt.Sprintf("entry %d (%s by %s) is not signed", en.Seq, en.Action, en.Actor), nil
	}
	if p := identity.StatementField(stmt, "plan"); p != "" && p != en.Plan {
		return fmt.Sprintf("entry %d (%s by %s) carries a signature for plan %s, not %s", en.Seq, en.Action, en.Actor, p, en.Plan), nil
	}
	if act := identity.StatementField(stmt, "action"); !signedActionMayWrite(act, en.Action) {
		return fmt.Sprintf("entry %d (%s by %s) carries a signature for a %q action, which never writes a %q entry", en.Seq, en.Action, en.Actor, act, en.Action), nil
	}
	if why := contentMismatch(stmt, en); why != "" {
		return fmt.Sprintf("entry %d (%s by %s) does not say what was signed: %s", en.Seq, en.Action, en.Actor, why), nil
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

// automaticEntries are the only entries cascade makes on its own, under
// the actor "cascade", without a signature: marking a step whose runner
// died as interrupted, and setting an interrupted idempotent step back to
// pending. Every other entry is a person's and must be signed.
var automaticEntries = []string{"interrupted", "retry"}

// quickActions finish within moments of being signed; their entries must
// be written within maxSignedAge of the signed time. start runs every
// gate and next runs steps, which may take long.
var quickActions = []string{"confirm", "amend", "retry", "override", "override-gate", "abort", "unlock"}

const maxSignedAge = 15 * time.Minute

// statementArg reads an argument of a statement (written quoted).
func statementArg(stmt, key string) (string, bool) {
	raw := identity.StatementField(stmt, key)
	if raw == "" {
		return "", false
	}
	v, err := strconv.Unquote(raw)
	return v, err == nil
}

// contentMismatch compares an entry with the statement its signature is
// over: the time, and for each action the step, inputs, gate, repo and
// reason it names. It returns what differs ("" when nothing does). A
// refusal records none of the arguments, so only its time is compared.
func contentMismatch(stmt string, en store.Entry) string {
	signedAt, err1 := time.Parse(time.RFC3339Nano, identity.StatementField(stmt, "at"))
	at, err2 := time.Parse(time.RFC3339Nano, en.At)
	if err1 != nil || err2 != nil {
		return "its time or the signed time cannot be read"
	}
	if at.Before(signedAt.Add(-time.Second)) {
		return fmt.Sprintf("it is dated %s, before the action was signed (%s)", en.At, signedAt.UTC().Format(time.RFC3339Nano))
	}
	action := identity.StatementField(stmt, "action")
	if slices.Contains(quickActions, action) && at.After(signedAt.Add(maxSignedAge)) {
		return fmt.Sprintf("it is dated %s, long after the action was signed (%s)", en.At, signedAt.UTC().Format(time.RFC3339Nano))
	}
	if strings.HasSuffix(en.Action, " refused") || en.Action != action {
		return ""
	}
	str := func(k string) string { v, _ := en.Details[k].(string); return v }
	same := func(key, got string) string {
		want, ok := statementArg(stmt, key)
		if !ok {
			return fmt.Sprintf("the signed statement has no %s", key)
		}
		if want != got {
			return fmt.Sprintf("its %s is %q, the signed one %q", key, got, want)
		}
		return ""
	}
	step := func() string {
		want, ok := statementArg(stmt, "step")
		n, _ := en.Details["step"].(float64)
		idx := strconv.Itoa(int(n))
		if !ok || (want != idx && want != str("name") && want != str("repo")+":"+str("name")) {
			return fmt.Sprintf("its step is %s (%s), the signed one %q", idx, str("name"), want)
		}
		return ""
	}
	inputs := func(key string) string {
		raw, ok := statementArg(stmt, "inputs")
		if !ok {
			return "the signed statement has no inputs"
		}
		want := map[string]string{}
		for _, kv := range strings.Split(raw, "\n") {
			if kv == "" {
				continue
			}
			k, v, _ := strings.Cut(kv, "=")
			want[k] = v
		}
		got, _ := en.Details[key].(map[string]any)
		diff := len(got) != len(want)
		for k, v := range got {
			if s, ok := v.(string); !ok || want[k] != s {
				diff = true
			}
		}
		if diff {
			return fmt.Sprintf("its inputs are %v, the signed ones %v", got, want)
		}
		return ""
	}
	var checks []func() string
	switch action {
	case "confirm":
		checks = []func() string{step, func() string { return inputs("inputs") }}
	case "amend":
		checks = []func() string{step, func() string { return inputs("new") }, func() string { return same("reason", str("reason")) }}
	case "retry":
		checks = []func() string{step}
	case "override":
		checks = []func() string{step, func() string { return same("reason", str("reason")) }}
	case "override-gate":
		checks = []func() string{func() string { return same("gate", str("gate")) }, func() string { return same("reason", str("reason")) }}
	case "abort":
		checks = []func() string{func() string { return same("reason", str("reason")) }}
	case "unlock":
		checks = []func() string{func() string { return same("repo", str("repo")) }, func() string { return same("reason", str("reason")) }}
	}
	for _, c := range checks {
		if why := c(); why != "" {
			return why
		}
	}
	return ""
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
