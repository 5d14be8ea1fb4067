package plan

import (
	"encoding/json"
	"time"
)

// Gate states of a plan, as `plan list` and the plan's JSON sum up its
// recorded gates.
const (
	// NeverChecked: `plan check` never ran for this plan.
	NeverChecked = "never checked"
	// StaleState: the recorded gates were checked for another frozen
	// scope (the plan was re-frozen, or its heads edited, since).
	StaleState = "stale"
	// Failing: at least one recorded gate failed.
	Failing = "failing"
	// Passing: every recorded gate passed or warned.
	Passing = "passing"
)

// GatesStale reports whether the gate results the plan file records were
// checked for another frozen scope than the plan's current one: after a
// `plan rescope`, or heads and versions edited by hand, they say nothing
// about what would ship now. Results that name no scope (written before
// cascade recorded it) are stale too: nothing says what they were for.
func (p *Plan) GatesStale() bool {
	if len(p.Computed.Gates) == 0 && p.Computed.CheckedAt == nil {
		return false
	}
	return p.Computed.Heads != p.HeadsKey()
}

// GateState sums up the recorded gates: NeverChecked, StaleState,
// Failing or Passing, and the names of the gates that failed when they
// were checked (also when stale: they failed for an earlier scope).
func (p *Plan) GateState() (state string, failing []string) {
	for _, g := range p.Computed.Gates {
		if g.Status == Fail {
			failing = append(failing, g.Name)
		}
	}
	switch {
	case len(p.Computed.Gates) == 0 && p.Computed.CheckedAt == nil:
		return NeverChecked, failing
	case p.GatesStale():
		return StaleState, failing
	case len(failing) > 0:
		return Failing, failing
	}
	return Passing, failing
}

// RecordedGates are the gate results the plan file records, each stale
// one with status Stale and its recorded status in Recorded, so that a
// result checked for an earlier scope never reads as a current pass.
func (p *Plan) RecordedGates() []Gate {
	gates := append([]Gate(nil), p.Computed.Gates...)
	if !p.GatesStale() {
		return gates
	}
	for i := range gates {
		gates[i].Recorded, gates[i].Status = gates[i].Status, Stale
	}
	return gates
}

// MarshalJSON writes the plan with its recorded gates as RecordedGates
// gives them and their state summed up (computed.state, .failing,
// .stale); a plan never checked has "checked_at": null.
func (p Plan) MarshalJSON() ([]byte, error) {
	type plain Plan
	q := plain(p)
	q.Computed.Gates = p.RecordedGates()
	for i := range q.Computed.Gates {
		if q.Computed.Gates[i].Details == nil {
			q.Computed.Gates[i].Details = []string{}
		}
	}
	if q.Computed.Gates == nil {
		q.Computed.Gates = []Gate{}
	}
	q.Computed.State, q.Computed.Failing = p.GateState()
	if q.Computed.Failing == nil {
		q.Computed.Failing = []string{}
	}
	q.Computed.Stale = p.GatesStale()
	return json.Marshal(q)
}

// Checked records gates as the plan's last check, at when, for its
// current frozen scope.
func (p *Plan) Checked(gates []Gate, when time.Time) {
	t := when.UTC().Truncate(time.Second)
	p.Computed.Gates, p.Computed.CheckedAt, p.Computed.Heads = gates, &t, p.HeadsKey()
}
