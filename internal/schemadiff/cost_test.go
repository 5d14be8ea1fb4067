package schemadiff

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// chainSchema is n $defs, each referring twice to the next through anyOf
// and allOf, ending in {"type": leaf}: the validator evaluates d0 2^n
// times over at one value.
func chainSchema(n int, leaf string) string {
	var b strings.Builder
	b.WriteString(`{"$ref":"#/$defs/d0","$defs":{`)
	for i := range n {
		next := fmt.Sprintf(`{"$ref":"#/$defs/d%d"}`, i+1)
		fmt.Fprintf(&b, `"d%d":{"anyOf":[%s,{"allOf":[%s,{"type":"object"}]}]},`, i, next, next)
	}
	fmt.Fprintf(&b, `"d%d":{"type":%q}}}`, n, leaf)
	return b.String()
}

// exact is the exact bound: the paths to every evaluation.
func exact(s *Schema, v any) uint64 {
	r := &costRun{m: s.cost, memo: map[costKey]uint64{}, busy: map[costKey]bool{}}
	return r.cost(s.Compiled, v)
}

// TestCostCountsEveryPath: the bound counts each path the validator takes
// to an evaluation. In the chain, d_i costs itself, its anyOf's two
// branches, the $ref schema in each, the allOf's {"type":"object"} and
// twice d_{i+1}: c_i = 5 + 2·c_{i+1}, c_3 = 1, so c_0 = 43 and the root
// (a $ref to d0) 44 at a scalar. The quick bound (values times the most
// one value can cost) is never below the exact one.
func TestCostCountsEveryPath(t *testing.T) {
	s := mustLoad(t, "s.json", chainSchema(3, "string"))
	check := func(s *Schema, v any, want uint64) {
		t.Helper()
		if got := exact(s, v); got != want {
			t.Errorf("exact cost of %v = %d, want %d", v, got, want)
		}
		if got := s.cost.evaluations(s.Compiled, v); got < want {
			t.Errorf("cost of %v = %d, below the exact %d", v, got, want)
		}
	}
	check(s, "x", 44)
	// An object costs its own evaluations plus, for each member, what
	// the keywords apply to it (nothing here: no object keywords).
	check(s, map[string]any{"a": 1.0}, 44)
	// Properties apply to each member; the same value met twice costs
	// twice (the bound is computed per pair, the cost counted per path):
	// root 1 + per member: the property schema 1, its $ref target x 1,
	// x's additionalProperties at k 1 = 3; twice = 7.
	p := mustLoad(t, "p.json", `{"properties":{"a":{"$ref":"#/$defs/x"},"b":{"$ref":"#/$defs/x"}},"$defs":{"x":{"type":"object","additionalProperties":{"type":"string"}}}}`)
	shared := map[string]any{"k": "v"}
	check(p, map[string]any{"a": shared, "b": shared}, 7)
	check(p, map[string]any{"a": map[string]any{"k": "v"}, "b": map[string]any{"k": "v"}}, 7)
	// 25 levels: 2^25 paths, over the bound by both counts.
	big := mustLoad(t, "big.json", chainSchema(25, "string"))
	if got := big.cost.evaluations(big.Compiled, "x"); got <= MaxEvaluations {
		t.Errorf("cost of the 25-level chain = %d, want over %d", got, MaxEvaluations)
	}
	if got := exact(big, "x"); got <= MaxEvaluations {
		t.Errorf("exact cost of the 25-level chain = %d, want over %d", got, MaxEvaluations)
	}
}

// TestCostOfInPlaceCycle: a subschema that applies itself to the same
// value has no bound: the validation is not run.
func TestCostOfInPlaceCycle(t *testing.T) {
	s := mustLoad(t, "s.json", `{"$defs":{"a":{"anyOf":[{"type":"string"},{"$ref":"#/$defs/a"}]}},"properties":{"x":{"$ref":"#/$defs/a"}}}`)
	if got := s.cost.evaluations(s.Compiled, map[string]any{"x": "s"}); got != costInf {
		t.Errorf("cost = %d, want costInf", got)
	}
	if _, err := s.Check(map[string]any{"x": "s"}); !Undecided(err) {
		t.Errorf("Check = %v, want undecided", err)
	}
	// A value the cycle never reaches is validated.
	if ok, err := s.Check(map[string]any{"y": 1.0}); !ok || err != nil {
		t.Errorf("Check = %v, %v; want valid", ok, err)
	}
}

// TestValidationTooCostlyIsUndecided: Validate and Check of a value whose
// bound is over MaxEvaluations do not run the validator, and say so.
func TestValidationTooCostlyIsUndecided(t *testing.T) {
	s := mustLoad(t, "s.json", chainSchema(25, "string"))
	err := s.Validate("x")
	if !Undecided(err) || !strings.Contains(err.Error(), "subschema evaluations") {
		t.Errorf("Validate = %v, want a cost error", err)
	}
	if _, err := s.Check("x"); !Undecided(err) {
		t.Errorf("Check = %v, want a cost error", err)
	}
	// Ten levels cost 2^10-odd evaluations: validated as usual.
	small := mustLoad(t, "s.json", chainSchema(10, "string"))
	if ok, err := small.Check("x"); !ok || err != nil {
		t.Errorf("Check = %v, %v; want valid", ok, err)
	}
	if ok, err := small.Check(1.0); ok || err != nil {
		t.Errorf("Check(1) = %v, %v; want invalid", ok, err)
	}
}

// TestCompareBoundedByEvaluations: comparing two 25-level chains never
// runs a validation over the bound, stops at the comparison's evaluation
// budget (before its time limit) and calls the result breaking, with
// the reason.
func TestCompareBoundedByEvaluations(t *testing.T) {
	o, n := mustLoad(t, "s.json", chainSchema(25, "string")), mustLoad(t, "s.json", chainSchema(25, "integer"))
	d := newDiffer(o, n, allShortcuts)
	d.ctx = context.Background()
	d.evalBudget = 2 * MaxEvaluations // the default is seconds of work
	r := d.run()
	if !r.Breaking || len(r.Unknown) == 0 {
		t.Fatalf("result = %+v, want breaking with unknowns", r)
	}
	if d.evaluations > d.evalBudget+MaxEvaluations {
		t.Errorf("%d evaluations, over the budget of %d", d.evaluations, d.evalBudget)
	}
	var all []string
	for _, f := range r.Unknown {
		all = append(all, f.Message)
	}
	if msg := strings.Join(all, "\n"); !strings.Contains(msg, "subschema evaluations") {
		t.Errorf("unknowns do not give the evaluation bound as the reason:\n%s", msg)
	}
}
