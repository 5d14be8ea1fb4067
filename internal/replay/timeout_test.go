package replay

import (
	"context"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/schemadiff"
)

// TestPatternTimeoutIsUnreadable: a line on which a pattern backtracks
// past the match timeout is not judged (neither accepted nor rejected).
func TestPatternTimeoutIsUnreadable(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the match timeout")
	}
	old, err := schemadiff.Load("old.json", []byte(`{"properties":{"q":{"type":"string","pattern":"^(a|a?)+$"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	new, err := schemadiff.Load("new.json", []byte(`{"properties":{"q":{"type":"string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	input := `{"q":"aaa"}` + "\n" + `{"q":"` + strings.Repeat("a", 40) + `!"}` + "\n"
	r, err := Run(context.Background(), []Input{{Name: "log", R: strings.NewReader(input)}}, Options{Old: old, New: new, Examples: 2, Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if r.AcceptedBoth != 1 || r.ParseErrors != 1 || r.NewlyAccepted != 0 || len(r.ParseErrorExamples) != 1 ||
		!strings.Contains(r.ParseErrorExamples[0].Error, "took longer than") {
		t.Errorf("got %+v", r)
	}
}
