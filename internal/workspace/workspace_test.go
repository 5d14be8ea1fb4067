package workspace

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
)

func gitInit(t *testing.T, dir string) {
	t.Helper()
	if _, err := gitrepo.Init(context.Background(), dir, "main", gitrepo.Author{Name: "T", Email: "t@example.com"}); err != nil {
		t.Fatal(err)
	}
}

func TestParseRepos(t *testing.T) {
	dir := t.TempDir()
	for _, r := range []string{"clever-db", "repos/a", "repos/b"} {
		gitInit(t, filepath.Join(dir, r))
	}
	os.MkdirAll(filepath.Join(dir, "repos", "not-a-repo"), 0o755)
	ws, err := Parse(filepath.Join(dir, FileName), []byte(`
repos:
  - path: ./clever-db
    tier: critical
  - url: https://git.example.com/org/clever-api.git
    branch: master
  - url: git@git.example.com:org/tools
    name: org-tools
  - path: repos/a   # also matched by the glob below: listed once
discover:
  - ./repos/*
  - ./nothing/*
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []RepoSpec{
		{Name: "clever-db", Path: filepath.Join(dir, "clever-db"), Tier: "critical", Line: 3},
		{Name: "clever-api", URL: "https://git.example.com/org/clever-api.git", Branch: "master", Line: 5},
		{Name: "org-tools", URL: "git@git.example.com:org/tools", Line: 7},
		{Name: "a", Path: filepath.Join(dir, "repos", "a"), Line: 9},
		{Name: "b", Path: filepath.Join(dir, "repos", "b"), Line: 11},
	}
	if diff := cmp.Diff(want, ws.Repos); diff != "" {
		t.Errorf("repos mismatch (-want +got):\n%s", diff)
	}
	if len(ws.Warnings) != 1 || !strings.Contains(ws.Warnings[0], `:12: discover glob "./nothing/*" matches no git repository`) {
		t.Errorf("warnings = %q", ws.Warnings)
	}
	if !ws.Policy.Default || ws.Policy.Windows[0].From != 9*60 || len(ws.Policy.Windows[0].Days) != 4 {
		t.Errorf("default policy = %+v", ws.Policy)
	}
}

func TestParsePolicy(t *testing.T) {
	dir := t.TempDir()
	gitInit(t, filepath.Join(dir, "a"))
	ws, err := Parse(filepath.Join(dir, FileName), []byte(`repos: [{path: ./a}]
policy:
  timezone: America/Los_Angeles
  windows:
    - days: [Monday, tue]
      from: "09:30"
      to: "24:00"
  freezes:
    - {from: 2026-12-21, to: 2027-01-04, reason: holiday freeze}
    - {from: "2026-11-26T18:00:00Z", to: "2026-11-27T02:00:00Z"}
`))
	if err != nil {
		t.Fatal(err)
	}
	p := ws.Policy
	la, _ := time.LoadLocation("America/Los_Angeles")
	if p.Default || p.Timezone != "America/Los_Angeles" || p.Location.String() != la.String() {
		t.Errorf("policy = %+v", p)
	}
	if diff := cmp.Diff([]Window{{Days: []time.Weekday{time.Monday, time.Tuesday}, From: 570, To: 1440, Line: 5}}, p.Windows); diff != "" {
		t.Errorf("windows mismatch (-want +got):\n%s", diff)
	}
	f := p.Freezes[0]
	if !f.From.Equal(time.Date(2026, 12, 21, 0, 0, 0, 0, la)) || !f.To.Equal(time.Date(2027, 1, 5, 0, 0, 0, 0, la)) || f.Reason != "holiday freeze" {
		t.Errorf("freeze = %+v (to is the day after the last frozen day)", f)
	}
	if !p.Freezes[1].From.Equal(time.Date(2026, 11, 26, 18, 0, 0, 0, time.UTC)) {
		t.Errorf("RFC 3339 freeze = %+v", p.Freezes[1])
	}
}

// TestPolicyWithoutTimezoneIsUTC: whatever the process's zone (TZ), a
// policy that names none, and the default policy, are in UTC.
func TestPolicyWithoutTimezoneIsUTC(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Skip("no zone data")
	}
	saved := time.Local
	time.Local = la
	defer func() { time.Local = saved }()
	dir := t.TempDir()
	gitInit(t, filepath.Join(dir, "a"))
	ws, err := Parse(filepath.Join(dir, FileName), []byte("repos: [{path: ./a}]\npolicy:\n  windows: [{days: [mon], from: '09:00', to: '16:00'}]\n  freezes: [{from: 2026-12-21, to: 2027-01-04}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if ws.Policy.Location != time.UTC || ws.Policy.Timezone != "UTC" {
		t.Errorf("a policy without timezone: is in %v (%s), want UTC", ws.Policy.Location, ws.Policy.Timezone)
	}
	if f := ws.Policy.Freezes[0]; !f.From.Equal(time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("freeze starts %v, want midnight UTC", f.From)
	}
	if d := DefaultPolicy(); d.Location != time.UTC {
		t.Errorf("the default policy is in %v, want UTC", d.Location)
	}
}

func TestParseErrors(t *testing.T) {
	dir := t.TempDir()
	gitInit(t, filepath.Join(dir, "a"))
	tests := map[string]string{
		"repos: {path: ./a}":                      "cascade.yaml:1:8: `repos:` must be a list",
		"repos:\n  - path: [./a]":                 "cascade.yaml:2:11: repos[0].path must be a single value",
		"repos:\n  - {path: ./a, url: x}":         "cascade.yaml:2:5: repos[0] has both `path:` and `url:`; keep one",
		"repos:\n  - {url: x, name: 'a b'}":       `cascade.yaml:2:5: repos[0]: invalid repo name "a b"`,
		"repos:\n  - {url: x, name: 'a/../../x'}": `cascade.yaml:2:5: repos[0]: invalid repo name "a/../../x"`,
		"repos:\n  - {url: x, name: 'a//b'}":      `invalid repo name "a//b"`,
		"repos:\n  - {url: x, name: 'a/./b'}":     `invalid repo name "a/./b"`,
		"repo:\n  - path: ./a":                    `cascade.yaml:1:1: unknown key "repo" in the top level; known keys: repos, discover, policy`,
		"discover: ['[']":                         `cascade.yaml:1:12: invalid glob "["`,
		"- a":                                     "cascade.yaml:1:1: expected a mapping",
		"policy: {timezone: UTC}":                 "cascade.yaml:1:1: no repositories",
		"repos: [{path: ./a}]\npolicy: {windows: [{days: [mon], from: '10:00', to: '09:00'}]}": "policy.windows[0]: `from` must be before `to`",
		"repos: [{path: ./a}]\npolicy: {windows: [{days: [], from: '10:00', to: '11:00'}]}":    "policy.windows[0] needs `days:`",
		"repos: [{path: ./a}]\npolicy: {windows: []}":                                          "`policy.windows: []` lists no window, so no release could ever start",
		"repos: [{path: ./a}]\npolicy: {windows: [{days: [mon], from: '10:00'}]}":              "policy.windows[0] needs `to:`",
		"repos: [{path: ./a}]\npolicy: {freezes: [{from: 2026-02-01, to: 2026-01-01}]}":        "policy.freezes[0]: `from` must not be after `to`",
		"repos: [{path: ./a}]\npolicy: {freezes: [{from: 2026-02-01}]}":                        "policy.freezes[0] needs `to:`",
		"repos: [{path: ./a}]\npolicy: {timezone: [x]}":                                        "policy.timezone must be a single value",
		"repos: [{path: ./a}]\npolicy: {hours: 3}":                                             `unknown key "hours" in policy`,
		"repos: [{path: ./a}]\npolicy: {timezone: Local}":                                      `cascade.yaml:2:20: timezone "Local" would follow the zone of whoever runs cascade`,
	}
	for data, want := range tests {
		_, err := Parse(filepath.Join(dir, FileName), []byte(data))
		if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an Invalid error containing %q", data, err, want)
		}
	}
}

func TestFindAndRender(t *testing.T) {
	dir := t.TempDir()
	for _, r := range []string{"org/b", "org/a", "org/a/inner", "org/.cache/x", "org/web/node_modules/y", "other/c"} {
		gitInit(t, filepath.Join(dir, r))
	}
	repos, err := FindRepos([]string{filepath.Join(dir, "org"), filepath.Join(dir, "other"), filepath.Join(dir, "org", "a")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "org/a"), filepath.Join(dir, "org/b"), filepath.Join(dir, "other/c")}
	if diff := cmp.Diff(want, repos); diff != "" {
		t.Errorf("FindRepos mismatch (-want +got):\n%s", diff)
	}
	text := Render(filepath.Join(dir, "org"), repos)
	for _, line := range []string{"  - path: ./a\n", "  - path: ./b\n", "  - path: ../other/c\n"} {
		if !strings.Contains(string(text), line) {
			t.Errorf("Render lacks %q:\n%s", line, text)
		}
	}
	// What Render writes, Parse reads back.
	file := filepath.Join(dir, "org", FileName)
	if err := WriteFile(file, text, 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := Load(file)
	if err != nil || len(ws.Repos) != 3 {
		t.Fatalf("Load(rendered) = %v, %v", ws, err)
	}
	found, err := Find(filepath.Join(dir, "org", "a", "inner"))
	if err != nil || found != file {
		t.Errorf("Find = %q, %v; want %q", found, err, file)
	}
}
