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
