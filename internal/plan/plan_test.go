package plan

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/workspace"
)

func laPolicy(t *testing.T) workspace.Policy {
	la, _ := time.LoadLocation("America/Los_Angeles")
	return workspace.Policy{Timezone: "America/Los_Angeles", Location: la,
		Windows: []workspace.Window{{Days: []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday}, From: 9 * 60, To: 16 * 60}},
		Freezes: []workspace.Freeze{{From: time.Date(2026, 12, 21, 0, 0, 0, 0, la), To: time.Date(2027, 1, 5, 0, 0, 0, 0, la), Reason: "holiday freeze"}}}
}

func TestWindowGate(t *testing.T) {
	p := laPolicy(t)
	la := p.Location
	tests := []struct {
		at         time.Time
		status     string
		reasonPart string
	}{
		{time.Date(2026, 11, 27, 10, 0, 0, 0, la), Fail, "no releases on Fridays; the next window opens Monday 2026-11-30 09:00 PST"},
		{time.Date(2026, 11, 30, 8, 59, 0, 0, la), Fail, "the next window opens Monday 2026-11-30 09:00 PST"},
		{time.Date(2026, 11, 30, 9, 0, 0, 0, la), Pass, "inside a release window"},
		{time.Date(2026, 11, 30, 15, 59, 0, 0, la), Pass, "inside"},
		{time.Date(2026, 11, 30, 16, 0, 0, 0, la), Fail, "the next window opens Tuesday 2026-12-01 09:00 PST"},
		// In UTC it is Tuesday 01:00, in Los Angeles still Monday evening.
		{time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC), Fail, "Monday 2026-11-30 17:00 PST"},
		// The next window skips the holiday freeze.
		{time.Date(2026, 12, 18, 10, 0, 0, 0, la), Fail, "the next window opens Tuesday 2027-01-05 09:00 PST"},
	}
	for _, tt := range tests {
		g := WindowGate(p, tt.at)
		if g.Status != tt.status || !strings.Contains(g.Reason, tt.reasonPart) {
			t.Errorf("at %s: %s %q, want %s containing %q", tt.at, g.Status, g.Reason, tt.status, tt.reasonPart)
		}
	}
	if g := FreezeGate(p, time.Date(2026, 12, 24, 10, 0, 0, 0, la)); g.Status != Fail || !strings.Contains(g.Reason, "holiday freeze") {
		t.Errorf("freeze gate in the freeze: %+v", g)
	}
	if g := FreezeGate(p, time.Date(2027, 1, 5, 0, 0, 0, 0, la)); g.Status != Pass {
		t.Errorf("freeze gate the day after: %+v", g)
	}
	if g := ManagerGate(&Plan{Manager: "alice, bob"}); g.Status != Fail {
		t.Errorf("two managers pass: %+v", g)
	}
}

func TestOrder(t *testing.T) {
	mod := func(name string, reqs ...string) scan.Repo {
		m := scan.Module{Name: "ex.com/" + name, Ecosystem: scan.Go, Dir: "."}
		for _, r := range reqs {
			m.Requires = append(m.Requires, scan.Requirement{Module: "ex.com/" + r, Version: "v1.0.0"})
		}
		return scan.Repo{Name: name, Content: scan.Content{Modules: []scan.Module{m}}}
	}
	g := graph.Build([]scan.Repo{mod("api", "db"), mod("db", "conv"), mod("conv"), mod("web"), mod("sync", "api")})
	order, err := Order(g, []string{"sync", "web", "db", "conv"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"conv", "db", "sync"}, {"web"}}, order); diff != "" {
		t.Errorf("order mismatch (-want +got):\n%s", diff)
	}
	cyc := graph.Build([]scan.Repo{mod("a", "b"), mod("b", "a")})
	if _, err := Order(cyc, []string{"a"}); err == nil || !strings.Contains(err.Error(), "dependency cycle (a → b → a)") {
		t.Errorf("cycle: %v", err)
	}
}

// TestParseRefusesHostileValues: values a plan file hands to git are
// checked when the plan is read, naming the key and the reason.
func TestParseRefusesHostileValues(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef01234567"
	for change, want := range map[string]string{
		"{repo: db, ref: x, head: \"--output=/tmp/x\"}":               `change db: head: invalid commit id "--output=/tmp/x": it starts with '-'`,
		"{repo: db, ref: x, head: main}":                              `change db: head: invalid commit id "main": a commit id here is the full 40`,
		"{repo: db, ref: x, base: \"-x\", head: " + id + "}":          `change db: base: invalid commit id "-x"`,
		"{repo: db, ref: master..x, head: " + id + "}":                `change db: ref: invalid ref "master..x": a ref cannot contain ".."`,
		"{repo: db, ref: \"refs/heads/../..\", head: " + id + "}":     `change db: ref: invalid ref "refs/heads/../..": a ref cannot contain ".."`,
		"{repo: db, ref: \"-f\", head: " + id + "}":                   `change db: ref: invalid ref "-f": it starts with '-'`,
		"{repo: db, ref: x, head: " + id + ", version: \"-f\"}":       `version "-f" is not a semantic version`,
		"{repo: db, ref: x, head: " + id + ", version: \"v1.0.0..\"}": `version "v1.0.0.." is not a semantic version`,
	} {
		data := "id: p1\ntitle: T\nmanager: alice\nchanges:\n  - " + change + "\n"
		_, err := Parse("plans/p1.yaml", []byte(data))
		if err == nil || !regexp.MustCompile(`^plans/p1.yaml:5:([0-9]+:)? `).MatchString(err.Error()) || !strings.Contains(err.Error(), want) || errkind.Of(err) != errkind.Invalid {
			t.Errorf("Parse(%s) = %v; want an Invalid error containing %q", change, err, want)
		}
	}
	for _, v := range []string{"v1.2.3", "1.2.3", "v2.0.0-rc.1", "v1.0.0+build.5"} {
		if err := ValidVersion(v, false); err != nil {
			t.Errorf("ValidVersion(%s) = %v", v, err)
		}
	}
}

func TestParse(t *testing.T) {
	good := "id: p1\ntitle: T\nmanager: alice\nchanges:\n  - {repo: db, ref: x, base: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, head: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb, version: v1.1.0}\ncomputed: {order: [[db]]}\n"
	p, err := Parse("plans/p1.yaml", []byte(good))
	if err != nil || p.Manager != "alice" || p.Changes[0].Version != "v1.1.0" {
		t.Fatalf("Parse = %+v, %v", p, err)
	}
	for data, want := range map[string]string{
		"id: p1\ntitle: T\nchanges: [{repo: db, head: h}]\n":                          "names no release manager",
		"id: p1\ntitle: T\nmanager: [alice, bob]\nchanges: [{repo: db, head: h}]\n":   "plans/p1.yaml:3: a plan has exactly one release manager, not 2",
		"id: p1\ntitle: T\nmanagers: [alice]\nchanges: [{repo: db, head: h}]\n":       "plans/p1.yaml:3: a plan has exactly one release manager",
		"id: p1\ntitle: T\nmanager: a\nchanges: [{repo: db, head: h, colour: red}]\n": "unknown key \"colour\" in a change",
		"id: p1\ntitle: T\nmanager: a\nowner: b\nchanges: [{repo: db, head: h}]\n":    "plans/p1.yaml:4: unknown key \"owner\"",
		"id: P 1\ntitle: T\nmanager: a\nchanges: [{repo: db, head: h}]\n":             "invalid plan id",
		"id: p1\ntitle: [\n":                          "fix the YAML syntax",
		"id: p1\ntitle: T\nmanager: a\nchanges: []\n": "the plan has no changes",
	} {
		if _, err := Parse("plans/p1.yaml", []byte(data)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", data, err, want)
		}
	}
	if p, err := Parse("plans/p1.yaml", []byte("id: p1\ntitle: T\nmanager: [alice]\nchanges: [{repo: db, head: cccccccccccccccccccccccccccccccccccccccc}]\n")); err != nil || p.Manager != "alice" {
		t.Errorf("a one-element manager list: %+v %v", p, err)
	}
}

// TestParseReportsEveryProblem: a plan file's semantic problems are all
// reported at once, each with its line, not only the first.
func TestParseReportsEveryProblem(t *testing.T) {
	const id = "0123456789abcdef0123456789abcdef01234567"
	data := "id: p1\ntitle: T\nchanges:\n" +
		"  - {repo: db, ref: x, head: " + id + "}\n" +
		"  - {repo: api, ref: x, head: main}\n" +
		"  - repo: db\n    ref: y\n    head: " + id + "\n" +
		"  - {repo: web, ref: \"-f\", head: \"--output=x\"}\n"
	_, err := Parse("plans/p1.yaml", []byte(data))
	if err == nil || errkind.Of(err) != errkind.Invalid {
		t.Fatalf("Parse = %v, want an Invalid error", err)
	}
	for _, want := range []string{
		"plans/p1.yaml: the plan names no release manager",
		`plans/p1.yaml:5:31: change api: head: invalid commit id "main"`,
		"plans/p1.yaml:6: repo db is in the plan twice",
		`plans/p1.yaml:9:22: change web: ref: invalid ref "-f"`,
		`plans/p1.yaml:9:34: change web: head: invalid commit id "--output=x"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse: %v\nwant a line containing %q", err, want)
		}
	}
	if n := len(strings.Split(err.Error(), "\n")); n != 5 {
		t.Errorf("Parse reported %d problems, want 5:\n%v", n, err)
	}
}

// TestRecomputeIgnoresTheFilesOrder: the order under computed: in a plan
// file is replaced by the one the graph gives, and the difference is
// reported with the file's line.
func TestRecomputeIgnoresTheFilesOrder(t *testing.T) {
	mod := func(name string, reqs ...string) scan.Repo {
		m := scan.Module{Name: "ex.com/" + name, Ecosystem: scan.Go, Dir: "."}
		for _, r := range reqs {
			m.Requires = append(m.Requires, scan.Requirement{Module: "ex.com/" + r, Version: "v1.0.0"})
		}
		return scan.Repo{Name: name, Content: scan.Content{Modules: []scan.Module{m}}}
	}
	g := graph.Build([]scan.Repo{mod("lib"), mod("app", "lib"), mod("other", "lib")})
	h := strings.Repeat("a", 40)
	p, err := Parse("plans/p.yaml", []byte("id: p\ntitle: P\nmanager: alice\nchanges:\n  - repo: lib\n    ref: x\n    base: "+h+"\n    head: "+h+"\n  - repo: app\n    ref: y\n    base: "+h+"\n    head: "+h+"\ncomputed:\n  order:\n    - - app\n"))
	if err != nil {
		t.Fatal(err)
	}
	order, err := p.ReleaseOrder(g)
	if diff := cmp.Diff([][]string{{"lib", "app"}}, order); err != nil || diff != "" {
		t.Errorf("ReleaseOrder: %v (-want +got):\n%s", err, diff)
	}
	notes, err := p.Recompute(g)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"plans/p.yaml:13: computed.order says [[app]], but the workspace gives [[lib app]]; using [[lib app]] (nothing under computed: is taken from the file)",
		"plans/p.yaml:13: computed.downstream says [], but the workspace gives [other]; using [other] (nothing under computed: is taken from the file)",
	}
	if diff := cmp.Diff(want, notes); diff != "" {
		t.Errorf("notes mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"lib", "app"}}, p.Computed.Order); diff != "" {
		t.Errorf("the plan keeps the file's order (-want +got):\n%s", diff)
	}
	if notes, _ := p.Recompute(g); len(notes) != 0 {
		t.Errorf("a second Recompute still differs: %q", notes)
	}
}

// TestHeadsKeyCoversTheScope: the scope key changes with any change's
// base, head or version, and is a whole SHA-256.
func TestHeadsKeyCoversTheScope(t *testing.T) {
	a, b := strings.Repeat("a", 40), strings.Repeat("b", 40)
	p := &Plan{Changes: []Change{{Repo: "lib", Base: a, Head: b, Version: "v1.0.0"}, {Repo: "app", Base: a, Head: b}}}
	key := p.HeadsKey()
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(key) {
		t.Errorf("HeadsKey = %q, want 64 hex digits", key)
	}
	for name, edit := range map[string]func(*Plan){
		"base":    func(q *Plan) { q.Changes[0].Base = b },
		"head":    func(q *Plan) { q.Changes[1].Head = a },
		"version": func(q *Plan) { q.Changes[0].Version = "v1.0.1" },
		"repo":    func(q *Plan) { q.Changes = q.Changes[:1] },
	} {
		q := &Plan{Changes: append([]Change(nil), p.Changes...)}
		edit(q)
		if q.HeadsKey() == key {
			t.Errorf("changing the %s leaves HeadsKey unchanged", name)
		}
	}
	r := &Plan{Changes: []Change{p.Changes[1], p.Changes[0]}}
	if r.HeadsKey() != key {
		t.Error("HeadsKey depends on the order of the changes")
	}
}
