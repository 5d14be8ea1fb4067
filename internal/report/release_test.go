package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/store"
)

// Times a person reads are to the second; the database keeps nanoseconds.
func TestReleaseTimesToTheSecond(t *testing.T) {
	const at = "2026-12-01T10:00:05.123456789Z"
	var b bytes.Buffer
	st := &release.Status{Plan: "p", State: "active", Manager: "alice", Started: at,
		Steps: []release.Step{{Index: 1, Repo: "svc", Name: "Build", Kind: "run", State: "succeeded", Actor: "alice", At: at}}}
	if err := ReleaseStatus(&b, st); err != nil {
		t.Fatal(err)
	}
	if err := AuditText(&b, []store.Entry{{Seq: 1, At: at, Actor: "alice", Action: "start"}}, false, nil); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, ".123") || strings.Count(out, "2026-12-01T10:00:05Z") != 3 {
		t.Errorf("times are not shown to the second:\n%s", out)
	}
}
