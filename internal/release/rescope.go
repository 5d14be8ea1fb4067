package release

import (
	"context"
	"fmt"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/store"
)

// Rescope records a re-freeze of plan p's scope: p holds the new heads
// (its HeadsKey is what the person signed). Only the release manager may
// (while a release runs, the one who signed its start); a refusal is
// audited too. The signed entry is what makes the new heads trusted: the
// gates hold a plan file whose heads no signed rescope froze (see
// RescopeProblem). save writes the plan file.
func (e *Engine) Rescope(ctx context.Context, p *plan.Plan, actor, reason string, save func(*plan.Plan) error) error {
	if err := reasonText(reason); err != nil {
		return err
	}
	if err := e.checkHead(ctx, p); err != nil {
		return err
	}
	releaseID, manager, err := e.releaseManager(ctx, p)
	if err != nil {
		return err
	}
	heads := p.HeadsKey()
	if actor != manager {
		err := errkind.New(errkind.Unauthorized, "only the release manager (%s) may re-freeze the scope of %s; %s may not", manager, p.ID, actor)
		return e.refuse(ctx, releaseID, p.ID, actor, "rescope", map[string]any{"heads": heads}, err)
	}
	if err := e.checkSignedScope(p); err != nil {
		return err
	}
	var changes []string
	for _, c := range p.Changes {
		changes = append(changes, c.Repo+"@"+c.Head)
	}
	err = e.storeTx(ctx, func(tx *store.Tx) error {
		return e.append(ctx, tx, releaseID, p.ID, e.now(), actor, "rescope", map[string]any{"heads": heads, "reason": reason, "changes": changes})
	})
	if err != nil {
		return err
	}
	if err := e.recordHead(ctx, p.ID); err != nil {
		return err
	}
	p.Rescoped = append(p.Rescoped, plan.Rescope{By: actor, At: e.Now().UTC().Truncate(time.Second), Reason: reason})
	return save(p)
}

// Rescopes marks each re-freeze the plan file lists as verified or not:
// verified when the audit log holds a rescope entry by the same person
// with the same reason at that time, whose hash and (with people) whose
// signature hold. It returns the scope the last verified rescope froze
// ("" if none).
func (e *Engine) Rescopes(ctx context.Context, p *plan.Plan) (string, error) {
	entries, problems, err := e.planLog(ctx, p.ID)
	if err != nil {
		return "", err
	}
	var good []store.Entry
	for _, en := range entries {
		if en.Action == "rescope" && problems[en.Seq] == "" {
			good = append(good, en)
		}
	}
	for i := range p.Rescoped {
		r := &p.Rescoped[i]
		r.Unverified = true
		for _, en := range good {
			at, _ := time.Parse(time.RFC3339Nano, en.At)
			reason, _ := en.Details["reason"].(string)
			if en.Actor == r.By && reason == r.Reason && at.UTC().Truncate(time.Second).Equal(r.At.UTC()) {
				r.Unverified = false
			}
		}
	}
	if len(good) == 0 {
		return "", nil
	}
	heads, _ := good[len(good)-1].Details["heads"].(string)
	return heads, nil
}

// RescopeProblem says why plan p's frozen scope is not trusted ("" when it
// is): once the plan file says it was re-frozen, or the audit log holds a
// signed re-freeze, its heads must be the ones the last signed re-freeze
// froze. Heads edited by hand, with or without a `rescoped:` line naming
// the manager, are not.
func (e *Engine) RescopeProblem(ctx context.Context, p *plan.Plan) (string, error) {
	frozen, err := e.Rescopes(ctx, p)
	if err != nil {
		return "", err
	}
	switch {
	case frozen == "" && len(p.Rescoped) == 0:
		return "", nil
	case frozen == "":
		r := p.Rescoped[len(p.Rescoped)-1]
		return fmt.Sprintf("plans/%s.yaml says its scope was re-frozen by %s at %s, but the audit log holds no signed re-freeze of it: its frozen heads were edited by hand; the manager re-freezes with `cascade plan rescope %s`", p.ID, r.By, r.At.UTC().Format(time.RFC3339), p.ID), nil
	case frozen != p.HeadsKey():
		return fmt.Sprintf("plans/%s.yaml's frozen heads and versions (%.12s) are not the ones its last signed re-freeze froze (%.12s): they were edited by hand; the manager re-freezes with `cascade plan rescope %s`", p.ID, p.HeadsKey(), frozen, p.ID), nil
	}
	return "", nil
}

// HoldUntrustedScope fails the scope gate among gates when the plan's
// frozen heads are not the ones a signed re-freeze froze.
func (e *Engine) HoldUntrustedScope(ctx context.Context, p *plan.Plan, gates []plan.Gate) ([]plan.Gate, error) {
	why, err := e.RescopeProblem(ctx, p)
	if err != nil || why == "" {
		return gates, err
	}
	for i := range gates {
		if gates[i].Name == "scope" {
			gates[i].Status, gates[i].Reason = plan.Fail, why
			gates[i].Details = nil
			return gates, nil
		}
	}
	return append(gates, plan.Gate{Name: "scope", Status: plan.Fail, Reason: why}), nil
}
