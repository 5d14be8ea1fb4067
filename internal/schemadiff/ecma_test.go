package schemadiff

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestECMAPatterns: patterns are ECMA-262, as JSON Schema specifies;
// Go's regexp refused these.
func TestECMAPatterns(t *testing.T) {
	for _, tc := range []struct {
		pattern      string
		match, other string
	}{
		{`^\u0041+$`, "AA", "B"},
		{`^(?=.*[0-9])[a-z0-9]+$`, "a1", "ab"},
		{`^(?!admin$)[a-z]+$`, "alice", "admin"},
		{`^(a)\1$`, "aa", "ab"},
		{`^\cJ$`, "\n", "J"},
	} {
		s, err := Load("p.json", []byte(`{"type":"string","pattern":`+jsonText(tc.pattern)+`}`))
		if err != nil {
			t.Errorf("%s: %v", tc.pattern, err)
			continue
		}
		if err := s.Validate(tc.match); err != nil {
			t.Errorf("%s rejects %q: %v", tc.pattern, tc.match, err)
		}
		if s.Validate(tc.other) == nil {
			t.Errorf("%s accepts %q", tc.pattern, tc.other)
		}
	}
	// \s is Unicode white space in ECMA-262 (only ASCII in Go).
	s := mustLoad(t, "s.json", `{"pattern":"^\\s$"}`)
	if err := s.Validate("\u00a0"); err != nil {
		t.Errorf(`^\s$ rejects a no-break space: %v`, err)
	}
}

// TestPatternCascadeCannotRead: a change to a pattern Go's syntax cannot
// read is unknown, and says why, unless an example shows it.
func TestPatternCascadeCannotRead(t *testing.T) {
	old := mustLoad(t, "old.json", `{"type":"string","pattern":"^(?=a)[a-z]+$"}`)
	new := mustLoad(t, "new.json", `{"type":"string","pattern":"^(?=a)[a-z]{1,64}$"}`)
	r := Compare(old, new)
	checkWitnesses(t, old, new, r)
	if len(r.Unknown) != 1 || !strings.Contains(r.Unknown[0].Message, "cannot analyse the pattern") {
		t.Errorf("got %+v", r)
	}
	// \s written two ways is not taken for the same pattern: ECMA-262's
	// \s is wider than [\t\n\f\r ].
	old = mustLoad(t, "old.json", `{"type":"string","pattern":"^\\s$"}`)
	new = mustLoad(t, "new.json", `{"type":"string","pattern":"^[\\t\\n\\f\\r ]$"}`)
	r = Compare(old, new)
	checkWitnesses(t, old, new, r)
	if !r.Breaking {
		t.Errorf(`^\s$ to ^[\t\n\f\r ]$ is not breaking: %+v`, r)
	}
}

// TestPatternTimeout: a pattern that backtracks for too long makes the
// instance undecided, never valid or invalid by accident.
func TestPatternTimeout(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the match timeout")
	}
	s := mustLoad(t, "s.json", `{"pattern":"^(a|a?)+$"}`)
	start := time.Now()
	ok, err := s.Check(strings.Repeat("a", 40) + "!")
	var te *MatchTimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("Check = %v, %v after %s; want a MatchTimeoutError", ok, err, time.Since(start))
	}
}
