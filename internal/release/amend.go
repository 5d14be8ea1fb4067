package release

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/store"
)

// Amend corrects inputs given at a confirmed manual step, with a reason:
// the release manager only, while no later step that uses them has
// succeeded with the old values. A later step retried afterwards sees the
// new values. It is audited with the old and new values.
func (e *Engine) Amend(ctx context.Context, planID, stepArg, actor string, inputs map[string]string, reason string) (*Step, error) {
	if err := reasonText(reason); err != nil {
		return nil, err
	}
	if strings.TrimSpace(reason) == "" {
		return nil, errkind.New(errkind.Invalid, "an amendment needs --reason TEXT: it is recorded in the audit log")
	}
	if len(inputs) == 0 {
		return nil, errkind.New(errkind.Invalid, "--amend needs the corrected values: --input NAME=VALUE")
	}
	st, err := e.trustedStatus(ctx, planID)
	if err != nil {
		return nil, err
	}
	if err := requireActive(st); err != nil {
		return nil, err
	}
	if err := requireManager(st, actor, "amend its inputs"); err != nil {
		return nil, e.refuse(ctx, st.ID, st.Plan, actor, "amend", map[string]any{"step": stepArg}, err)
	}
	s, err := FindStep(st, stepArg)
	if err != nil {
		return nil, err
	}
	if s.Kind != Manual || s.State != Succeeded {
		return nil, errkind.New(errkind.Conflict, "step %d (%s) is a %s step that is %s: only the inputs of a confirmed manual step can be amended", s.Index, s.Name, s.Kind, s.State)
	}
	var names []string
	if err := checkInputs(inputs); err != nil {
		return nil, err
	}
	for k := range inputs {
		if !slices.Contains(s.Spec.Inputs, k) {
			return nil, errkind.New(errkind.Invalid, "step %d (%s) asks for no input %q; it asks for %s", s.Index, s.Name, k, strings.Join(s.Spec.Inputs, ", "))
		}
		names = append(names, k)
	}
	sort.Strings(names)
	// Any later step may have read the old values (a template, or its
	// CASCADE_INPUT_* variable): once one succeeded, runs or was
	// interrupted, an amendment would not change what it did. A failed
	// later step is retried with the new values.
	for _, later := range st.Steps {
		if later.Index <= s.Index {
			continue
		}
		if later.State == Succeeded || later.State == Running || later.State == Interrupted {
			return nil, errkind.New(errkind.Conflict, "step %d (%s) is %s and may have used the old %s: amending it now would not change what that step did", later.Index, later.Name, later.State, strings.Join(names, ", "))
		}
	}
	old := map[string]string{}
	merged := map[string]string{}
	for k, v := range s.Inputs {
		merged[k] = v
	}
	for _, k := range names {
		old[k] = s.Inputs[k]
		merged[k] = inputs[k]
	}
	raw, _ := json.Marshal(merged)
	details := map[string]any{"step": s.Index, "name": s.Name, "repo": s.Repo, "old": old, "new": inputs, "reason": reason}
	err = e.activeTx(ctx, st, func(tx *store.Tx) error {
		if _, err := tx.ExecContext(ctx, "UPDATE steps SET inputs = ? WHERE release_id = ? AND idx = ?", string(raw), st.ID, s.Index); err != nil {
			return err
		}
		return e.append(ctx, tx, st.ID, st.Plan, e.now(), actor, "amend", details)
	})
	if err != nil {
		return nil, err
	}
	s.Inputs = merged
	return s, e.recordHead(ctx, st.Plan)
}
