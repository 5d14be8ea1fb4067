package release

import (
	"context"
	"encoding/json"
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
// statement of an action on the entry's plan, in this log (logID), that
// pins the plan's history before it (the hash of an earlier entry of the
// plan: the chain head when it was signed). A signed entry therefore
// vouches for every entry before the one it pins: deleting or editing an
// entry in the middle of the log breaks the next signed entry after it,
// even when every hash is recomputed. entries is the whole log, in order.
// With people every entry is a person's (a run's own entries are the
// runner's, see runnerOwn); without people nothing can be
// checked: actors are unverified, and nil is returned.
func VerifySignatures(ctx context.Context, people []workspace.Person, logID string, entries []store.Entry) ([]string, error) {
	if len(people) == 0 {
		return nil, nil
	}
	v := &sigVerifier{people: people, logID: logID}
	var problems []string
	before := map[string][]store.Entry{}
	for _, en := range entries {
		problem, err := v.problem(ctx, en, before[en.Plan])
		if err != nil {
			return nil, err
		}
		if problem != "" {
			problems = append(problems, problem)
		}
		before[en.Plan] = append(before[en.Plan], en)
	}
	return problems, nil
}

// sigVerifier checks entries' signatures, remembering the signatures it
// verified (ssh-keygen runs once per signature).
type sigVerifier struct {
	people []workspace.Person
	logID  string
	ok     map[string]bool
	// used maps a statement and an entry kind to the entry it signed: a
	// signature signs one entry of each kind (a copy of a retry or an
	// override later in the log would act twice on one signature).
	used map[string]int64
}

// problem says what is wrong with one entry's signature ("" when it
// holds); before are the plan's entries before it, in order; err is an
// infrastructure failure.
func (v *sigVerifier) problem(ctx context.Context, en store.Entry, before []store.Entry) (string, error) {
	stmt, _ := en.Details["signed"].(string)
	armored, _ := en.Details["signature"].(string)
	if (stmt == "" || armored == "") && en.Actor == workspace.ReservedActor {
		return fmt.Sprintf("entry %d (%s by cascade) is not signed: with people every entry is a person's signed word (cascade writes entries of its own only for a workspace without people)", en.Seq, en.Action), nil
	}
	if stmt == "" || armored == "" {
		return fmt.Sprintf("entry %d (%s by %s) is not signed", en.Seq, en.Action, en.Actor), nil
	}
	if p := identity.StatementField(stmt, "plan"); p != en.Plan {
		return fmt.Sprintf("entry %d (%s by %s) carries a signature for plan %q, not %s", en.Seq, en.Action, en.Actor, p, en.Plan), nil
	}
	if act := identity.StatementField(stmt, "action"); !signedActionMayWrite(act, en.Action) {
		return fmt.Sprintf("entry %d (%s by %s) carries a signature for a %q action, which never writes a %q entry", en.Seq, en.Action, en.Actor, act, en.Action), nil
	}
	if why := contentMismatch(stmt, en); why != "" {
		return fmt.Sprintf("entry %d (%s by %s) does not say what was signed: %s", en.Seq, en.Action, en.Actor, why), nil
	}
	// A statement signs one entry: the action's, or its refusal. A
	// refused action's signature copied onto the action's own entry (or
	// a second copy of either) does not hold.
	use := en.Plan + "\x00" + stmt
	if v.used == nil {
		v.used = map[string]int64{}
	}
	if first, ok := v.used[use]; ok && first != en.Seq {
		return fmt.Sprintf("entry %d (%s by %s) carries the signature of entry %d again: one signed statement signs one entry", en.Seq, en.Action, en.Actor, first), nil
	}
	v.used[use] = en.Seq
	if why := pinMismatch(stmt, en, before, v.logID); why != "" {
		return fmt.Sprintf("entry %d (%s by %s): %s", en.Seq, en.Action, en.Actor, why), nil
	}
	key := en.Actor + "\x00" + stmt + "\x00" + armored
	if v.ok[key] {
		return "", nil
	}
	err := identity.VerifyAs(ctx, v.people, en.Actor, &identity.Signature{Statement: stmt, Armored: armored})
	if err != nil {
		if errkind.Of(err) == errkind.Infra {
			return "", err
		}
		return fmt.Sprintf("entry %d (%s by %s): %v", en.Seq, en.Action, en.Actor, err), nil
	}
	if v.ok == nil {
		v.ok = map[string]bool{}
	}
	v.ok[key] = true
	return "", nil
}

// pinMismatch checks what a signed statement pins: the log it belongs to
// and the plan's history before the entry. An entry signed as it was
// written (it names its entry) pins the plan's entry right before it; an
// action signed before it ran pins the chain head when it was signed,
// which must be an earlier entry of the plan (entries may follow it
// before the action's own, written by another process meanwhile).
func pinMismatch(stmt string, en store.Entry, before []store.Entry, logID string) string {
	if l, _ := statementArg(stmt, "log"); logID != "" && l != logID {
		if l == "" {
			return "the signed statement names no log"
		}
		return fmt.Sprintf("it was signed for log %s, not this database's (%s)", l, logID)
	}
	head, ok := statementArg(stmt, "head")
	if !ok {
		return "the signed statement pins no history (the hash of the plan's entry before it)"
	}
	prev := ""
	if len(before) > 0 {
		prev = before[len(before)-1].Hash
	}
	if _, own := statementArg(stmt, "entry"); own {
		if head != prev {
			return fmt.Sprintf("it was signed after the plan's entry with hash %.12s, but the entry before it is %.12s: the history before it was rewritten", head, prev)
		}
		return ""
	}
	if head == "" {
		signedAt, _ := time.Parse(time.RFC3339Nano, identity.StatementField(stmt, "at"))
		for _, b := range before {
			if at, err := time.Parse(time.RFC3339Nano, b.At); err != nil || at.Before(signedAt.Add(-time.Second)) {
				return fmt.Sprintf("it was signed when the plan had no entries, but entry %d (%s) was written before that: the history before it was rewritten", b.Seq, b.Action)
			}
		}
		return ""
	}
	for _, b := range before {
		if b.Hash == head {
			return ""
		}
	}
	return fmt.Sprintf("it pins the plan's entry with hash %.12s, which the log no longer holds before it: the history before it was deleted or rewritten", head)
}

// runnerOwn are the entries a `next` run writes on its own besides the
// results of its steps: a step whose runner died marked interrupted, an
// interrupted idempotent step set to run again. With people they are the
// runner's, signed one by one like ownSigned (an unsigned entry could
// otherwise move a step); "cascade" writes them only without people.
var runnerOwn = []string{"interrupted", "retry"}

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
	if entry, ok := statementArg(stmt, "entry"); ok {
		// Signed as it was written: the statement holds the whole entry.
		if entry != en.Action {
			return fmt.Sprintf("it is a %q entry, the signed one a %q entry", en.Action, entry)
		}
		want, _ := statementArg(stmt, "details")
		if got := signedDetails(en.Details); got != want {
			return fmt.Sprintf("its details are %s, the signed ones %s", got, want)
		}
		return ""
	}
	if action == "next" && (slices.Contains(ownSigned, en.Action) || slices.Contains(runnerOwn, en.Action)) {
		return "a step's start and end are signed as each is written (with its state and exit code), and this one is not"
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
	case "start":
		again := func() string {
			want, _ := statementArg(stmt, "again")
			if got := str("again"); got != want {
				return fmt.Sprintf("its reason to release again is %q, the signed one %q", got, want)
			}
			return ""
		}
		checks = []func() string{func() string { return same("heads", str("heads")) }, again}
	case "override-gate":
		checks = []func() string{func() string { return same("gate", str("gate")) }, func() string { return same("heads", str("heads")) }, func() string { return same("reason", str("reason")) }}
	case "rescope":
		checks = []func() string{func() string { return same("heads", str("heads")) }, func() string { return same("reason", str("reason")) }}
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

// ownSigned are the entries a `next` run signs one by one as it writes
// them, each statement holding the entry's details and the hash of the
// entry before it: the results of the steps it ran are the person's
// signed word, and nothing between two of them can be removed.
var ownSigned = []string{"step start", "step end", "wait", "held", "done", "takeover"}

// signedDetails is the canonical text of an entry's details without its
// signature, as a statement holds it.
func signedDetails(details map[string]any) string {
	d := map[string]any{}
	for k, v := range details {
		if k != "signed" && k != "signature" {
			d[k] = v
		}
	}
	b, _ := json.Marshal(d)
	return string(b)
}

// entriesOf lists the audit entries each signed action writes (besides
// its own refusal, "ACTION refused").
var entriesOf = map[string][]string{
	"start":         {"start"},
	"next":          {"step start", "step end", "wait", "held", "done", "takeover", "interrupted", "retry"},
	"confirm":       {"confirm", "wait", "held"},
	"amend":         {"amend"},
	"retry":         {"retry"},
	"override":      {"override", "done"},
	"override-gate": {"override-gate"},
	"rescope":       {"rescope"},
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

// planLog reads plan's audit entries and what is wrong with each (by
// sequence number): an entry whose hash does not match its content, or,
// when the workspace lists people, whose signature does not hold or does
// not pin the history before it. Signatures checked once are remembered
// by the engine.
func (e *Engine) planLog(ctx context.Context, planID string) ([]store.Entry, map[int64]string, error) {
	entries, err := e.Store.Entries(ctx, planID)
	if err != nil {
		return nil, nil, errkind.Wrap(errkind.Infra, err)
	}
	problems := map[int64]string{}
	var people []workspace.Person
	if e.WS != nil {
		people = e.WS.People
	}
	if len(people) > 0 && e.sigs == nil {
		logID, err := e.Store.LogID(ctx)
		if err != nil {
			return nil, nil, errkind.Wrap(errkind.Infra, err)
		}
		e.sigs = &sigVerifier{people: people, logID: logID}
	}
	for i, en := range entries {
		if store.HashEntry(en) != en.Hash {
			problems[en.Seq] = fmt.Sprintf("entry %d (%s by %s) was edited after it was written", en.Seq, en.Action, en.Actor)
			continue
		}
		if len(people) == 0 {
			continue
		}
		problem, err := e.sigs.problem(ctx, en, entries[:i])
		if err != nil {
			return nil, nil, err
		}
		if problem != "" {
			problems[en.Seq] = problem
		}
	}
	return entries, problems, nil
}
