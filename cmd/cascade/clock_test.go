package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShippedBinaryHasOneClock: the cascade a user builds takes no time
// from them. There is no --now flag, and the clock a test build reads
// from CASCADE_TEST_NOW (or a CASCADE_NOW) is ignored: plan check
// evaluates the real time (only --at evaluates another, and says so).
func TestShippedBinaryHasOneClock(t *testing.T) {
	t.Parallel()
	slot(t)
	if testing.Short() {
		t.Skip("builds cascade")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "cascade")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ws := filepath.Join(dir, "ws")
	run := func(want int, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = ws
		cmd.Env = append(os.Environ(), "CASCADE_TEST_NOW=2001-01-01T10:00:00Z", "CASCADE_NOW=2001-01-01T10:00:00Z",
			"USER=alice", "CASCADE_CACHE_DIR="+filepath.Join(dir, "cache"), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want && want >= 0 {
			t.Fatalf("cascade %s: exit %d, want %d\n%s", strings.Join(args, " "), code, want, out)
		}
		return string(out)
	}
	os.MkdirAll(filepath.Join(ws, "svc"), 0o755)
	os.WriteFile(filepath.Join(ws, "svc", "README"), []byte("svc\n"), 0o644)
	os.WriteFile(filepath.Join(ws, "cascade.yaml"), []byte("repos:\n  - path: ./svc\npolicy:\n  timezone: UTC\n"), 0o644)
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "init"}} {
		cmd := exec.Command("git", append([]string{"-C", filepath.Join(ws, "svc")}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	out := run(2, "--now", "2001-01-01T10:00:00Z", "plan", "list")
	if !strings.Contains(out, "unknown flag: --now") {
		t.Errorf("--now:\n%s", out)
	}
	run(0, "plan", "new", "p", "--title", "T", "--manager", "alice", "--change", "svc@main")
	before := time.Now()
	out = run(-1, "--quiet", "plan", "check", "p", "--json")
	var doc struct {
		At      string `json:"at"`
		AtGiven bool   `json:"at_given"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &doc); err != nil {
		t.Fatalf("plan check --json: %v\n%s", err, out)
	}
	at, err := time.Parse(time.RFC3339, doc.At)
	if err != nil || doc.AtGiven || at.Before(before.Add(-2*time.Second)) || at.After(time.Now().Add(2*time.Second)) {
		t.Errorf("plan check evaluated %q (given: %v), not the real time %s", doc.At, doc.AtGiven, before.UTC().Format(time.RFC3339))
	}
}
