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
// the log was cut or rewritten. Entries after the head (an action whose
// process stopped before it could record the head) are reported as a
// note, not a problem.
func VerifyHead(p *plan.Plan, entries []store.Entry) (problems, notes []string) {
	h := p.Audit
	if h == nil {
		if len(entries) > 0 {
			notes = append(notes, fmt.Sprintf("plans/%s.yaml records no audit head (the plan predates it)", p.ID))
		}
		return nil, notes
	}
	switch {
	case len(entries) < h.Entries:
		from := 1
		if len(entries) > 0 {
			from = len(entries) + 1
		}
		problems = append(problems, fmt.Sprintf("the log was truncated: plans/%s.yaml records %d entries for %s ending in %.12s, the log holds %d: the plan's entries %d to %d are missing", p.ID, h.Entries, p.ID, h.Hash, len(entries), from, h.Entries))
	case h.Entries > 0 && entries[h.Entries-1].Hash != h.Hash:
		problems = append(problems, fmt.Sprintf("entry %d is not the head plans/%s.yaml records (%.12s): the log was rewritten", entries[h.Entries-1].Seq, p.ID, h.Hash))
	case len(entries) > h.Entries:
		notes = append(notes, fmt.Sprintf("%d entries after the head plans/%s.yaml records (a run stopped before it could record it)", len(entries)-h.Entries, p.ID))
	}
	return problems, notes
}
