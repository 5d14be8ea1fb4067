package schemadiff

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func mustLoad(t *testing.T, name, doc string) *Schema {
	t.Helper()
	s, err := Load(name, []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkWitnesses asserts that every witness is accepted and rejected as
// claimed, and none is over maxWitness in one value.
func checkWitnesses(t *testing.T, old, new *Schema, r Result) {
	t.Helper()
	for _, f := range r.Tightened {
		if old.Validate(f.Witness) != nil || new.Validate(f.Witness) == nil || tooBig(f.Witness) {
			t.Errorf("tightened witness at %s does not hold or is too big", f.Path)
		}
	}
	for _, f := range r.Loosened {
		if new.Validate(f.Witness) != nil || old.Validate(f.Witness) == nil || tooBig(f.Witness) {
			t.Errorf("loosened witness at %s does not hold or is too big", f.Path)
		}
	}
}

// TestHugeCountsGiveSmallWitnessesOrUnknown: counts of 1e8 or 1e20 never
// build a value of more than 10,000 items or characters (they took 9 GB,
// printed 100 MB, or panicked); a change that needs one is unknown with
// that reason.
func TestHugeCountsGiveSmallWitnessesOrUnknown(t *testing.T) {
	for _, tc := range []struct {
		name, old, new string
		tight, loose   int
		unknown        string
	}{
		{"minItems added", `{"type":"array"}`, `{"type":"array","minItems":100000000}`, 1, 0, ""},
		{"minItems lowered", `{"type":"array","minItems":100000000}`, `{"type":"array","minItems":5}`, 0, 1, ""},
		{"minItems raised", `{"type":"array","minItems":100000000}`, `{"type":"array","minItems":100000001}`, 0, 0, "more than 10000 items"},
		{"minLength lowered", `{"type":"string","minLength":100000000}`, `{"type":"string","minLength":5}`, 0, 1, ""},
		{"minLength raised", `{"type":"string","minLength":100000000}`, `{"type":"string","minLength":100000001}`, 0, 0, "more than 10000 items"},
		{"maxLength 1e20", `{"type":"string"}`, `{"type":"string","maxLength":1e20}`, 0, 0, "more than 10000 items"},
		{"maxItems 1e20 lowered", `{"type":"array","maxItems":1e20}`, `{"type":"array","maxItems":3}`, 1, 0, ""},
		{"minContains added", `{"type":"array","contains":{"type":"string"}}`, `{"type":"array","contains":{"type":"string"},"minContains":100000000}`, 1, 0, ""},
		{"minContains raised", `{"type":"array","contains":{"type":"string"},"minContains":100000000}`, `{"type":"array","contains":{"type":"string"},"minContains":100000001}`, 0, 0, "more than 10000 items"},
		{"minProperties huge", `{"type":"object"}`, `{"type":"object","minProperties":100000000}`, 1, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old, new := mustLoad(t, "old.json", tc.old), mustLoad(t, "new.json", tc.new)
			r := Compare(old, new)
			checkWitnesses(t, old, new, r)
			if len(r.Tightened) != tc.tight || len(r.Loosened) != tc.loose {
				t.Errorf("got %d tightened, %d loosened; want %d, %d: %+v", len(r.Tightened), len(r.Loosened), tc.tight, tc.loose, r)
			}
			if tc.unknown != "" && (len(r.Unknown) == 0 || !strings.Contains(r.Unknown[0].Message, tc.unknown)) {
				t.Errorf("unknown = %+v, want one saying %q", r.Unknown, tc.unknown)
			}
		})
	}
}

// TestCountsBeyondIntAreNotWrapped: the validator keeps only the low
// bits of a count bigger than an int (2^64+1 would be 1).
func TestCountsBeyondIntAreNotWrapped(t *testing.T) {
	s := mustLoad(t, "s.json", `{"maxLength":18446744073709551617,"items":{"maxItems":1e20}}`)
	if err := s.Validate("ab"); err != nil {
		t.Errorf("maxLength 2^64+1 rejected a 2-character string: %v", err)
	}
	if err := s.Validate([]any{[]any{"a", "b"}}); err != nil {
		t.Errorf("maxItems 1e20 rejected 2 items: %v", err)
	}
}

// TestEnumOf20kValues: both differences are found (by hashing: the old
// quadratic comparison took minutes).
func TestEnumOf20kValues(t *testing.T) {
	var a, b strings.Builder
	a.WriteString(`{"enum":[`)
	b.WriteString(`{"enum":[`)
	for i := 0; i < 20000; i++ {
		if i > 0 {
			a.WriteString(",")
			b.WriteString(",")
		}
		a.WriteString(`"v` + fmtInt(i) + `"`)
		b.WriteString(`"v` + fmtInt(i+1) + `"`)
	}
	a.WriteString("]}")
	b.WriteString("]}")
	old, new := mustLoad(t, "old.json", a.String()), mustLoad(t, "new.json", b.String())
	r := Compare(old, new)
	checkWitnesses(t, old, new, r)
	if len(r.Tightened) != 1 || r.Tightened[0].Witness != "v0" || len(r.Loosened) != 1 || r.Loosened[0].Witness != "v20000" {
		t.Errorf("got %+v, want v0 tightened and v20000 loosened", r)
	}
}

func fmtInt(i int) string {
	if i == 0 {
		return "0"
	}
	var d []byte
	for ; i > 0; i /= 10 {
		d = append([]byte{byte('0' + i%10)}, d...)
	}
	return string(d)
}

// BenchmarkCompareEnum compares two enums of 20,000 values that differ
// in one value each way (minutes when the comparison was quadratic).
func BenchmarkCompareEnum(b *testing.B) {
	doc := func(from int) string {
		var s strings.Builder
		s.WriteString(`{"enum":[`)
		for i := from; i < from+20000; i++ {
			if i > from {
				s.WriteString(",")
			}
			s.WriteString(`"v` + fmtInt(i) + `"`)
		}
		s.WriteString("]}")
		return s.String()
	}
	old, err := Load("old.json", []byte(doc(0)))
	if err != nil {
		b.Fatal(err)
	}
	new, err := Load("new.json", []byte(doc(1)))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		Compare(old, new)
	}
}

// TestEnumNumbersByValue: 1 and 1.0 are the same enum value.
func TestEnumNumbersByValue(t *testing.T) {
	old, new := mustLoad(t, "old.json", `{"enum":[1,2.50,"a"]}`), mustLoad(t, "new.json", `{"enum":[1.0,2.5,"a"]}`)
	r := Compare(old, new)
	if r.Breaking || len(r.Loosened) != 0 {
		t.Errorf("got %+v, want no difference", r)
	}
}

// TestDeepNestingIsNotCompiled: 2,400 levels took minutes in the
// validator's meta-schema check (and 100,000 properties as long in its
// work queue); such a schema is refused at once, and a comparison with it
// is unknown.
func TestDeepNestingIsNotCompiled(t *testing.T) {
	doc := strings.Repeat(`{"type":"object","properties":{"a":`, 2400) + `{"type":"string"}` + strings.Repeat(`}}`, 2400)
	_, err := Load("deep.json", []byte(doc))
	var te *TooBigError
	if !errors.As(err, &te) {
		t.Fatalf("Load: %v, want a TooBigError", err)
	}
	r, ok := NotCompared(err)
	if !ok || !r.Breaking || len(r.Unknown) != 1 || !strings.Contains(r.Unknown[0].Message, "deep.json") {
		t.Errorf("NotCompared = %+v, %v", r, ok)
	}
	var many strings.Builder
	many.WriteString(`{"properties":{`)
	for i := 0; i <= MaxObjects; i++ {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`"p` + fmtInt(i) + `":{}`)
	}
	many.WriteString("}}")
	if _, err := Load("many.json", []byte(many.String())); !errors.As(err, &te) || !strings.Contains(err.Error(), "objects") {
		t.Errorf("Load of %d objects: %v", MaxObjects+2, err)
	}
	// Strings holding brackets do not count.
	if _, err := Load("s.json", []byte(`{"const":"`+strings.Repeat("[", 5000)+`"}`)); err != nil {
		t.Errorf("brackets in a string: %v", err)
	}
	// A schema at the limit is compared.
	n := MaxDepth/2 - 2
	a := strings.Repeat(`{"properties":{"a":`, n) + `{"type":"string"}` + strings.Repeat(`}}`, n)
	b := strings.Repeat(`{"properties":{"a":`, n) + `{"type":"integer"}` + strings.Repeat(`}}`, n)
	old, new := mustLoad(t, "a.json", a), mustLoad(t, "b.json", b)
	r = Compare(old, new)
	checkWitnesses(t, old, new, r)
	if len(r.Tightened) != 1 {
		t.Errorf("at depth %d: %+v", n, r.Tightened)
	}
}

var treeOld = `{"$defs":{"node":{"type":"object","properties":{"value":{"type":"string"},
  "children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value"]}},"$ref":"#/$defs/node"}`
var treeNew = `{"$defs":{"node":{"type":"object","properties":{"value":{"type":"string","maxLength":10},
  "left":{"$ref":"#/$defs/node"},"right":{"$ref":"#/$defs/node"},
  "children":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["value","left"]}},"$ref":"#/$defs/node"}`

// TestBudgetEndsWithUnknown: a comparison out of time says what it did
// not reach as unknown, and counts as breaking.
func TestBudgetEndsWithUnknown(t *testing.T) {
	old, new := mustLoad(t, "old.json", treeOld), mustLoad(t, "new.json", treeNew)
	r, err := CompareContext(context.Background(), old, new, Options{Timeout: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	checkWitnesses(t, old, new, r)
	if !r.Breaking || len(r.Unknown) == 0 || !strings.Contains(r.Unknown[len(r.Unknown)-1].Message, "time limit") {
		t.Errorf("got %+v, want an unknown naming the time limit", r)
	}
	// With time, the same comparison is complete.
	r, err = CompareContext(context.Background(), old, new, Options{})
	if err != nil || len(r.Tightened) == 0 {
		t.Errorf("got %+v, %v", r, err)
	}
	for _, u := range r.Unknown {
		if strings.Contains(u.Message, "stopped") {
			t.Errorf("unexpected stop: %s", u.Message)
		}
	}
}

// TestCancelStops: a cancelled context stops the comparison and is
// returned.
func TestCancelStops(t *testing.T) {
	old, new := mustLoad(t, "old.json", treeOld), mustLoad(t, "new.json", treeNew)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := CompareContext(ctx, old, new, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// TestClampKeepsOtherResources: a subschema with its own $id keeps its
// counts when the document's root has a huge one.
func TestClampKeepsOtherResources(t *testing.T) {
	s := mustLoad(t, "s.json", `{"maxLength":1e20,"properties":{"a":{"$id":"http://example.com/a","maxLength":5}}}`)
	if s.Validate(map[string]any{"a": "abcdef"}) == nil {
		t.Error("the subschema's maxLength 5 was lost")
	}
	if err := s.Validate("abcdef"); err != nil {
		t.Errorf("root maxLength 1e20: %v", err)
	}
}
