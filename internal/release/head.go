package release

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/store"
)

// recordHead writes the head of the plan's audit log (log id, entry
// count and last hash) into its plan file after an action committed. A
// plan file that no longer exists is left alone; one whose head names
// another log is never overwritten (that log is the plan's).
func (e *Engine) recordHead(ctx context.Context, planID string) error {
	if e.WS == nil || planID == "" {
		return nil
	}
	file := plan.File(e.WS, planID)
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	logID, err := e.Store.LogID(ctx)
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	if h := plan.DiskAuditHead(file); h != nil && h.Log != "" && h.Log != logID {
		return foreignLog(planID, h.Log, logID, e.Store.Path)
	}
	n, hash, err := e.Store.PlanHead(ctx, planID)
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	return plan.WriteAuditHead(e.WS, planID, plan.AuditHead{Log: logID, Entries: n, Hash: hash})
}

func foreignLog(planID, theirs, ours, db string) error {
	return errkind.New(errkind.Conflict, "plans/%s.yaml records its audit log as log %s, but %s holds log %s: the plan's releases are kept in another database; pass that one with --db (a second database would run a second release of the plan beside the first)", planID, theirs, db, ours)
}

// checkHead is run before a release acts on plan p: the plan file's audit
// head must name this database's log, and the log must still hold the
// entry the head records (a cut or rewritten log is refused). Entries
// after the head are allowed: a run may stop between writing an entry and
// recording the head.
func (e *Engine) checkHead(ctx context.Context, p *plan.Plan) error {
	if p == nil {
		return nil
	}
	return e.checkRecordedHead(ctx, p.ID, p.Audit)
}

// checkRecordedHead is checkHead for the head h read from plan planID's
// file (nil: none recorded).
func (e *Engine) checkRecordedHead(ctx context.Context, planID string, h *plan.AuditHead) error {
	if h == nil {
		return nil
	}
	logID, err := e.Store.LogID(ctx)
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	if h.Log != "" && h.Log != logID {
		return foreignLog(planID, h.Log, logID, e.Store.Path)
	}
	entries, err := e.Store.Entries(ctx, planID)
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	switch {
	case h.Entries > len(entries):
		return tampered("plans/%s.yaml records %s ending in %.12s, but the log in %s holds %d: the log was cut, or this is not the plan's database (--db)", planID, plural.Count(h.Entries, "audit entry"), h.Hash, e.Store.Path, len(entries))
	case h.Entries > 0 && entries[h.Entries-1].Hash != h.Hash:
		return tampered("entry %d of plan %s is not the head plans/%s.yaml records (%.12s): the log was rewritten", entries[h.Entries-1].Seq, planID, planID, h.Hash)
	}
	return nil
}

// VerifyHead compares a plan's audit entries with the head its plan file
// records: fewer entries, or another hash at the recorded position, means
// the log was cut or rewritten. p is nil when the plan file cannot be
// read (loadErr says why). A non-empty log is a problem when its head
// cannot be checked: no plan file, a plan file without `audit:`, or a
// head that records fewer entries than the log holds (the plan file may
// have been reverted to an older head to hide a deleted tail). There is
// no way to tell a log older than heads from one whose head was removed,
// so neither passes.
func VerifyHead(planID, logID string, p *plan.Plan, loadErr error, entries []store.Entry) (problems []string) {
	if len(entries) == 0 {
		if p != nil && p.Audit != nil && p.Audit.Entries > 0 {
			return []string{fmt.Sprintf("the log was truncated: plans/%s.yaml records %s ending in %.12s, the log holds none", planID, plural.Count(p.Audit.Entries, "entry"), p.Audit.Hash)}
		}
		return nil
	}
	if p == nil {
		return []string{fmt.Sprintf("plans/%s.yaml cannot be read (%v): the log's %s cannot be checked against the head it records, so a deleted tail would go unnoticed; restore the plan file from git", planID, loadErr, plural.Count(len(entries), "entry"))}
	}
	h := p.Audit
	if h == nil {
		return []string{fmt.Sprintf("plans/%s.yaml records no audit head (`audit:`), yet the log holds %s: a deleted tail would go unnoticed; restore the plan file from git", planID, plural.Count(len(entries), "entry"))}
	}
	switch {
	case h.Log == "":
		problems = append(problems, fmt.Sprintf("plans/%s.yaml's audit head names no log (`log:`): it cannot tell this database's log from another's; any release action records it", p.ID))
	case h.Log != logID:
		problems = append(problems, fmt.Sprintf("plans/%s.yaml's audit head is log %s's, not this database's (%s): the plan's log is in another database (--db)", p.ID, h.Log, logID))
	}
	switch {
	case len(entries) < h.Entries:
		from := len(entries) + 1
		problems = append(problems, fmt.Sprintf("the log was truncated: plans/%s.yaml records %d entries for %s ending in %.12s, the log holds %d: the plan's entries %d to %d are missing", p.ID, h.Entries, p.ID, h.Hash, len(entries), from, h.Entries))
	case h.Entries > 0 && entries[h.Entries-1].Hash != h.Hash:
		problems = append(problems, fmt.Sprintf("entry %d is not the head plans/%s.yaml records (%.12s): the log was rewritten", entries[h.Entries-1].Seq, p.ID, h.Hash))
	case h.Entries <= 0:
		problems = append(problems, fmt.Sprintf("plans/%s.yaml records an audit head of %s, yet the log holds %d: a deleted tail would go unnoticed; restore the plan file from git", p.ID, plural.Count(h.Entries, "entry"), len(entries)))
	case len(entries) > h.Entries:
		problems = append(problems, fmt.Sprintf("the log holds %s after the head plans/%s.yaml records (%s): the plan file is older than the log (a run stopped before recording its head, or the file was reverted to hide a truncation); the head cannot vouch for entries %d to %d", plural.Count(len(entries)-h.Entries, "entry"), p.ID, plural.Count(h.Entries, "entry"), h.Entries+1, len(entries)))
	}
	return problems
}

// tampered is the error of a release whose recorded state does not match
// its signed audit log: nothing acts on it (exit 1, like a log that
// fails --verify).
func tampered(format string, args ...any) error {
	return errkind.Wrap(errkind.Problem, &TamperedError{Why: fmt.Sprintf(format, args...)})
}

// TamperedError is a release whose rows, or whose audit log, do not hold:
// Why says the first difference.
type TamperedError struct{ Why string }

func (t *TamperedError) Error() string {
	return "tampered: " + t.Why + "; nothing was done: the release state in the database no longer matches the signed audit log (`cascade release log PLAN --verify`)"
}

// Pin is what a person's signed statement pins: the hash of the plan's
// last audit entry ("" when it has none) and this database's log id. A
// signed action thereby vouches for the whole history before it.
func (e *Engine) Pin(ctx context.Context, planID string) (head, logID string, err error) {
	if _, head, err = e.Store.PlanHead(ctx, planID); err != nil {
		return "", "", errkind.Wrap(errkind.Infra, err)
	}
	if logID, err = e.Store.LogID(ctx); err != nil {
		return "", "", errkind.Wrap(errkind.Infra, err)
	}
	return head, logID, nil
}

// LockedPlan is the plan whose release holds repo's lock.
func (e *Engine) LockedPlan(ctx context.Context, repo string) (string, error) {
	var planID string
	err := e.Store.DB.QueryRowContext(ctx, "SELECT plan FROM locks WHERE repo = ?", repo).Scan(&planID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errkind.New(errkind.Invalid, "repo %s is not locked", repo)
	}
	if err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	return planID, nil
}

// signedArg is an argument of the statement this engine's person signed
// ("", false without one).
func (e *Engine) signedArg(key string) (string, bool) {
	if e.Signature == nil {
		return "", false
	}
	return statementArg(e.Signature.Statement, key)
}

// checkSignedScope refuses an action whose signed scope (heads key) is not
// plan p's now: the plan file changed between signing and acting.
func (e *Engine) checkSignedScope(p *plan.Plan) error {
	if e.Signature == nil {
		return nil
	}
	if heads, _ := e.signedArg("heads"); heads != p.HeadsKey() {
		return errkind.New(errkind.Conflict, "the scope signed for (%.12s) is not plans/%s.yaml's frozen scope (%.12s): the plan file changed while the action was signed; run it again", heads, p.ID, p.HeadsKey())
	}
	return nil
}
