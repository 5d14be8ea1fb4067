package release

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/store"
)

// recordHead writes the head of the plan's audit log (entry count and
// last hash) into its plan file after an action committed. A plan file
// that no longer exists is left alone.
func (e *Engine) recordHead(ctx context.Context, planID string) error {
	if e.WS == nil || planID == "" {
		return nil
	}
	if _, err := os.Stat(plan.File(e.WS, planID)); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	n, hash, err := e.Store.PlanHead(ctx, planID)
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	return plan.WriteAuditHead(e.WS, planID, plan.AuditHead{Entries: n, Hash: hash})
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
func VerifyHead(planID string, p *plan.Plan, loadErr error, entries []store.Entry) (problems []string) {
	if len(entries) == 0 {
		if p != nil && p.Audit != nil && p.Audit.Entries > 0 {
			return []string{fmt.Sprintf("the log was truncated: plans/%s.yaml records %d entries ending in %.12s, the log holds none", planID, p.Audit.Entries, p.Audit.Hash)}
		}
		return nil
	}
	if p == nil {
		return []string{fmt.Sprintf("plans/%s.yaml cannot be read (%v): the log's %d entries cannot be checked against the head it records, so a deleted tail would go unnoticed; restore the plan file from git", planID, loadErr, len(entries))}
	}
	h := p.Audit
	if h == nil {
		return []string{fmt.Sprintf("plans/%s.yaml records no audit head (`audit:`), yet the log holds %d entries: a deleted tail would go unnoticed; restore the plan file from git", planID, len(entries))}
	}
	switch {
	case len(entries) < h.Entries:
		from := len(entries) + 1
		problems = append(problems, fmt.Sprintf("the log was truncated: plans/%s.yaml records %d entries for %s ending in %.12s, the log holds %d: the plan's entries %d to %d are missing", p.ID, h.Entries, p.ID, h.Hash, len(entries), from, h.Entries))
	case h.Entries > 0 && entries[h.Entries-1].Hash != h.Hash:
		problems = append(problems, fmt.Sprintf("entry %d is not the head plans/%s.yaml records (%.12s): the log was rewritten", entries[h.Entries-1].Seq, p.ID, h.Hash))
	case h.Entries <= 0:
		problems = append(problems, fmt.Sprintf("plans/%s.yaml records an audit head of %d entries, yet the log holds %d: a deleted tail would go unnoticed; restore the plan file from git", p.ID, h.Entries, len(entries)))
	case len(entries) > h.Entries:
		problems = append(problems, fmt.Sprintf("the log holds %d entries after the head plans/%s.yaml records (%d entries): the plan file is older than the log (a run stopped before recording its head, or the file was reverted to hide a truncation); the head cannot vouch for entries %d to %d", len(entries)-h.Entries, p.ID, h.Entries, h.Entries+1, len(entries)))
	}
	return problems
}
