package plan

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cascade-dev/cascade/internal/workspace"
)

func TestGateState(t *testing.T) {
	at := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	newPlan := func() *Plan {
		return &Plan{ID: "p", Manager: "alice", Changes: []Change{{Repo: "lib", Ref: "f", Base: strings.Repeat("a", 40), Head: strings.Repeat("b", 40), Version: "v1.1.0"}}}
	}
	gates := []Gate{{Name: "window", Status: Fail}, {Name: "manager", Status: Pass}, {Name: "scope", Status: Fail}}
	for _, tc := range []struct {
		name        string
		edit        func(p *Plan)
		state       string
		failing     []string
		stale       bool
		wantStatus0 string
	}{
		{"never checked", func(p *Plan) {}, NeverChecked, nil, false, ""},
		{"failing", func(p *Plan) { p.Checked(append([]Gate(nil), gates...), at) }, Failing, []string{"window", "scope"}, false, Fail},
		{"passing", func(p *Plan) {
			p.Checked([]Gate{{Name: "window", Status: Pass}, {Name: "performance", Status: Warn}}, at)
		}, Passing, nil, false, Pass},
		{"head moved", func(p *Plan) {
			p.Checked([]Gate{{Name: "window", Status: Pass}}, at)
			p.Changes[0].Head = strings.Repeat("c", 40)
		}, StaleState, nil, true, Stale},
		{"version edited", func(p *Plan) {
			p.Checked(append([]Gate(nil), gates...), at)
			p.Changes[0].Version = "v2.0.0"
		}, StaleState, []string{"window", "scope"}, true, Stale},
		{"no scope recorded", func(p *Plan) {
			p.Checked([]Gate{{Name: "window", Status: Pass}}, at)
			p.Computed.Heads = ""
		}, StaleState, nil, true, Stale},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPlan()
			tc.edit(p)
			state, failing := p.GateState()
			if state != tc.state || !cmp.Equal(failing, tc.failing) || p.GatesStale() != tc.stale {
				t.Fatalf("GateState = %q %v, stale %v; want %q %v, stale %v", state, failing, p.GatesStale(), tc.state, tc.failing, tc.stale)
			}
			data, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Created  *string `json:"created"`
				Computed struct {
					CheckedAt *string `json:"checked_at"`
					State     string  `json:"state"`
					Stale     bool    `json:"stale"`
					Gates     []struct {
						Status   string `json:"status"`
						Recorded string `json:"recorded_status"`
					} `json:"gates"`
				} `json:"computed"`
			}
			if err := json.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), "0001-01-01") {
				t.Errorf("JSON holds a zero time: %s", data)
			}
			if doc.Computed.State != tc.state || doc.Computed.Stale != tc.stale {
				t.Errorf("JSON state %q stale %v, want %q %v", doc.Computed.State, doc.Computed.Stale, tc.state, tc.stale)
			}
			if (doc.Computed.CheckedAt == nil) != (tc.state == NeverChecked) {
				t.Errorf("JSON checked_at = %v for state %q", doc.Computed.CheckedAt, tc.state)
			}
			if tc.wantStatus0 != "" && doc.Computed.Gates[0].Status != tc.wantStatus0 {
				t.Errorf("first gate's JSON status = %q, want %q", doc.Computed.Gates[0].Status, tc.wantStatus0)
			}
			for _, g := range doc.Computed.Gates {
				if tc.stale && (g.Status != Stale || g.Recorded == "") {
					t.Errorf("stale plan's gate in JSON: status %q recorded %q", g.Status, g.Recorded)
				}
			}
			// The file keeps what was recorded.
			if len(p.Computed.Gates) > 0 && p.Computed.Gates[0].Status == Stale {
				t.Errorf("marshalling changed the plan's recorded gates")
			}
		})
	}
}

func TestApplyOverridesNamesStaleOverride(t *testing.T) {
	p := &Plan{ID: "p", Changes: []Change{{Repo: "lib", Head: strings.Repeat("b", 40)}}}
	old := GateOverride{Gate: "semver", By: "alice", At: time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC), Reason: "ok", Heads: strings.Repeat("0", 64)}
	got := p.ApplyOverrides([]Gate{{Name: "semver", Status: Fail, Reason: "under-bump"}}, []GateOverride{old})
	if got[0].Status != Fail {
		t.Fatalf("an override for an earlier scope let the gate pass: %+v", got[0])
	}
	if len(got[0].Details) != 1 || !strings.HasPrefix(got[0].Details[0], "stale override: alice overrode this gate") {
		t.Errorf("details = %q, want the stale override named", got[0].Details)
	}
	cur := old
	cur.Heads = p.HeadsKey()
	got = p.ApplyOverrides([]Gate{{Name: "semver", Status: Fail, Reason: "under-bump"}}, []GateOverride{old, cur})
	if got[0].Status != Overridden {
		t.Errorf("the override for the current scope was not applied: %+v", got[0])
	}
}

// The next window opens at its time on the wall clock, also on the days
// the clocks change (as the window gate reads it).
func TestNextWindowAcrossClockChanges(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no time zone database")
	}
	pol := workspace.Policy{Location: ny, Windows: []workspace.Window{{Days: []time.Weekday{time.Sunday}, From: 4 * 60, To: 5 * 60}}}
	for _, c := range []struct{ now, want string }{
		{"2027-03-14T03:30:00-04:00", "2027-03-14T04:00:00-04:00"}, // spring forward: 02:00 does not exist
		{"2027-11-07T01:30:00-05:00", "2027-11-07T04:00:00-05:00"}, // fall back: 01:00-02:00 twice
	} {
		now, _ := time.Parse(time.RFC3339, c.now)
		got, ok := NextWindow(pol, now)
		if !ok || !got.Equal(mustTime(t, c.want)) {
			t.Errorf("NextWindow at %s = %s, want %s", c.now, got.In(ny), c.want)
		}
		if _, in := inWindow(pol, got); !in {
			t.Errorf("NextWindow at %s = %s, which the window gate does not count as inside", c.now, got.In(ny))
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A freeze override covers the freeze it was given in; a window override
// the closed hours it was given in, until the next window opens.
func TestCoveringOverrides(t *testing.T) {
	pol := workspace.Policy{Location: time.UTC,
		Windows: []workspace.Window{{Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday}, From: 9 * 60, To: 16 * 60}},
		Freezes: []workspace.Freeze{
			{From: mustTime(t, "2026-12-21T00:00:00Z"), To: mustTime(t, "2027-01-04T00:00:00Z"), Reason: "holiday"},
			{From: mustTime(t, "2027-02-01T00:00:00Z"), To: mustTime(t, "2027-02-10T00:00:00Z"), Reason: "audit"},
		}}
	freeze := GateOverride{Gate: "freeze", At: mustTime(t, "2026-12-22T10:00:00Z")}
	window := GateOverride{Gate: "window", At: mustTime(t, "2026-12-04T10:00:00Z")} // a Friday
	scope := GateOverride{Gate: "scope", At: mustTime(t, "2026-12-04T10:00:00Z")}
	// Given on a closed evening inside the holiday freeze: it does not
	// last the whole freeze (windows open, frozen, the next days).
	evening := GateOverride{Gate: "window", At: mustTime(t, "2026-12-22T20:00:00Z")}
	for at, want := range map[string]bool{"2026-12-22T23:00:00Z": true, "2026-12-30T20:00:00Z": false} {
		if got := len(Covering(pol, []GateOverride{evening}, mustTime(t, at))) == 1; got != want {
			t.Errorf("a window override given in a freeze's evening covers %s: %v, want %v", at, got, want)
		}
	}
	for _, c := range []struct {
		at   string
		want []string
	}{
		{"2026-12-23T10:00:00Z", []string{"freeze", "scope"}}, // the same freeze; a window opened since
		{"2027-02-02T10:00:00Z", []string{"scope"}},           // another freeze
		{"2026-12-05T22:00:00Z", []string{"window", "scope"}}, // the same weekend
		{"2026-12-11T10:00:00Z", []string{"scope"}},           // the next Friday
		{"2026-12-03T10:00:00Z", []string{"scope"}},           // before it was given
	} {
		var got []string
		for _, o := range Covering(pol, []GateOverride{freeze, window, scope}, mustTime(t, c.at)) {
			got = append(got, o.Gate)
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("at %s: %v cover, want %v", c.at, got, c.want)
		}
	}
}
