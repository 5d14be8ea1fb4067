package release

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// VerifySignatures checks every audit entry against the people's keys:
// with people, every entry is a person's (even what a run records on its
// own is the runner's) and is signed as it was written, by that person's
// key, over a statement that holds the entry's kind, time and details,
// the action it belongs to, the log it is in (logID) and the hash of the
// plan's entry right before it. A signed entry therefore vouches for
// every entry before it: deleting or editing an entry breaks the next
// one, even when every hash is recomputed, and a refusal cannot be
// renamed the action it refused. entries is the whole log, in order.
// Without people nothing can be checked: actors are unverified, and nil
// is returned.
//
// An entry written through a server (cascade.yaml `servers:`) is signed by
// the server's key over a statement that names the server (via) and the
// person it acted for, who must be the entry's actor: the server vouches
// that the person logged in to it with their own key.
func VerifySignatures(ctx context.Context, people, servers []workspace.Person, logID string, entries []store.Entry) ([]string, error) {
	if len(people) == 0 {
		return nil, nil
	}
	v := &sigVerifier{people: people, servers: servers, logID: logID}
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
	people  []workspace.Person
	servers []workspace.Person
	logID   string
	ok      map[string]bool
	// used maps a statement to the entry it signed: a statement signs
	// one entry (a copy later in the log would act twice on it).
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
	if _, ok := statementArg(stmt, "entry"); !ok {
		return fmt.Sprintf("entry %d (%s by %s) is not signed as it was written (its signature is over the %s action, not over this entry)", en.Seq, en.Action, en.Actor, identity.StatementField(stmt, "action")), nil
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
	signers, signer := v.people, en.Actor
	if via, ok := statementArg(stmt, identity.ViaArg); ok {
		if person, _ := statementArg(stmt, identity.PersonArg); person != en.Actor {
			return fmt.Sprintf("entry %d (%s by %s) carries server %s's signature for %q, not for %s", en.Seq, en.Action, en.Actor, via, person, en.Actor), nil
		}
		// A server acts only for the people of cascade.yaml: never for
		// cascade itself, nor for a name the workspace does not list.
		if en.Actor == workspace.ReservedActor || !slices.ContainsFunc(v.people, func(p workspace.Person) bool { return p.Name == en.Actor }) {
			return fmt.Sprintf("entry %d (%s by %s) was signed by server %s for %s, who is not one of the people in cascade.yaml", en.Seq, en.Action, en.Actor, via, en.Actor), nil
		}
		if !slices.ContainsFunc(v.servers, func(s workspace.Person) bool { return s.Name == via }) {
			return fmt.Sprintf("entry %d (%s by %s) was signed through server %q, which cascade.yaml `servers:` does not list", en.Seq, en.Action, en.Actor, via), nil
		}
		signers, signer = identity.ServerSigners(v.servers), identity.ServerPrincipal(via)
	} else if identity.StatementField(stmt, identity.PersonArg) != "" {
		return fmt.Sprintf("entry %d (%s by %s) names a person it was signed for but no server", en.Seq, en.Action, en.Actor), nil
	}
	key := signer + "\x00" + en.Actor + "\x00" + stmt + "\x00" + armored
	if v.ok[key] {
		return "", nil
	}
	err := identity.VerifyAs(ctx, signers, signer, &identity.Signature{Statement: stmt, Armored: armored})
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
// and the plan's entry right before the one it signs (the hash of the
// plan's last entry when it was written).
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
	if head != prev {
		return fmt.Sprintf("it was signed after the plan's entry with hash %.12s, but the entry before it is %.12s: the history before it was rewritten", head, prev)
	}
	return ""
}

// statementArg reads an argument of a statement (written quoted).
func statementArg(stmt, key string) (string, bool) {
	raw := identity.StatementField(stmt, key)
	if raw == "" {
		return "", false
	}
	v, err := strconv.Unquote(raw)
	return v, err == nil
}

// contentMismatch compares an entry with the statement it was signed
// with as it was written: its kind, its time and its details must be the
// signed ones. It returns what differs ("" when nothing does).
func contentMismatch(stmt string, en store.Entry) string {
	entry, _ := statementArg(stmt, "entry")
	if entry != en.Action {
		return fmt.Sprintf("it is a %q entry, the signed one a %q entry", en.Action, entry)
	}
	if signedAt := identity.StatementField(stmt, "at"); signedAt != en.At {
		return fmt.Sprintf("it is dated %s, the signed entry %s", en.At, signedAt)
	}
	want, _ := statementArg(stmt, "details")
	if got := signedDetails(en.Details); got != want {
		return fmt.Sprintf("its details are %s, the signed ones %s", got, want)
	}
	return ""
}

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
	var people, servers []workspace.Person
	if e.WS != nil {
		people, servers = e.WS.People, e.WS.Servers
	}
	if len(people) > 0 && e.sigs == nil {
		logID, err := e.Store.LogID(ctx)
		if err != nil {
			return nil, nil, errkind.Wrap(errkind.Infra, err)
		}
		e.sigs = &sigVerifier{people: people, servers: servers, logID: logID}
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
