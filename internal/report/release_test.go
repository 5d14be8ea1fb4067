package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/store"
)

// Times a person reads are to the second, in the policy's time zone; the
// database keeps nanoseconds in UTC.
func TestReleaseTimesToTheSecond(t *testing.T) {
	const at = "2026-12-01T10:00:05.123456789Z"
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Skip("no time zone database")
	}
	for _, c := range []struct {
		loc  *time.Location
		want string
	}{{nil, "2026-12-01 10:00:05 UTC"}, {la, "2026-12-01 02:00:05 PST"}} {
		var b bytes.Buffer
		st := &release.Status{Plan: "p", State: "active", Manager: "alice", Started: at,
			Steps: []release.Step{{Index: 1, Repo: "svc", Name: "Build", Kind: "run", State: "succeeded", Actor: "alice", At: at}}}
		if err := ReleaseStatus(&b, st, c.loc); err != nil {
			t.Fatal(err)
		}
		if err := AuditText(&b, []store.Entry{{Seq: 1, At: at, Actor: "alice", Action: "start"}}, false, nil, c.loc); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		if strings.Contains(out, ".123") || strings.Count(out, c.want) != 3 {
			t.Errorf("times are not shown to the second as %s:\n%s", c.want, out)
		}
	}
}

// TestAuditTextNamesTheServer: an entry a server signed for its actor says
// so in the text log, not only in --json.
func TestAuditTextNamesTheServer(t *testing.T) {
	at := "2026-12-01T10:00:00Z"
	entries := []store.Entry{
		{Seq: 1, At: at, Actor: "alice", Action: "confirm", Details: map[string]any{"signed": "cascade-release action\nplan=p\naction=confirm\nat=" + at + "\nperson=\"alice\"\nvia=\"desk\"\n", "signature": "x"}},
		{Seq: 2, At: at, Actor: "alice", Action: "confirm", Details: map[string]any{"signed": "cascade-release action\nplan=p\naction=confirm\nat=" + at + "\n", "signature": "x"}},
	}
	var b strings.Builder
	if err := AuditText(&b, entries, false, nil, time.UTC); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	if !strings.Contains(lines[0], "(signed via server desk)") || !strings.Contains(lines[1], "(signed) ") || strings.Contains(lines[1], "via") {
		t.Errorf("audit text:\n%s\nwant entry 1 signed via server desk, entry 2 signed by alice", b.String())
	}
}
