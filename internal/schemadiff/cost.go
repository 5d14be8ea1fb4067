package schemadiff

import (
	"fmt"
	"reflect"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The validator evaluates a schema without memory of what it evaluated
// before: a subschema reached twice at the same value is evaluated twice.
// A small schema can therefore cost exponential work on a small value (a
// chain of $defs where each one refers twice to the next, through anyOf
// and allOf, costs 2^n evaluations), and one call of the validator cannot
// be interrupted. The cost model bounds that work before the validator
// runs: a validation whose bound exceeds MaxEvaluations is not run, and
// what it was to decide is left undecided, with the reason.

// MaxEvaluations is the most subschema evaluations one validation of one
// instance may cost (an upper bound computed from the schema and the
// instance's shape): a fraction of a second of the validator's work, so
// that an interrupted comparison stops within a second.
const MaxEvaluations = 500_000

// costInf stands for a cost beyond any bound: an in-place cycle (a
// subschema that applies itself to the same value), or a sum that would
// overflow.
const costInf = uint64(1) << 62

func addCost(a, b uint64) uint64 {
	if a >= costInf-b {
		return costInf
	}
	return a + b
}

// CostError is a validation that was not run because its bound exceeds
// MaxEvaluations: whether the instance is valid was not decided.
type CostError struct{ Evaluations uint64 }

func (e *CostError) Error() string {
	n := "more than 4·10^18"
	if e.Evaluations < costInf {
		n = fmt.Sprintf("up to %d", e.Evaluations)
	}
	return fmt.Sprintf("validating it could take %s subschema evaluations (the schema's anyOf, allOf, oneOf and $ref multiply; cascade runs at most %d per value): not decided", n, MaxEvaluations)
}

// costModel bounds the validator's work on one instance: the number of
// times it evaluates a subschema at some value of the instance, counting
// every path to that evaluation (the validator does not remember). A
// subschema s at a value v costs 1, plus what s applies to v itself
// (allOf, anyOf, oneOf, not, if/then/else, dependentSchemas, $ref and the
// targets a $dynamicRef or $recursiveRef may resolve to), plus, when v is
// an object or an array, what its keywords apply to each member or item
// (properties, patternProperties, additionalProperties, propertyNames on
// the key, items and the rest). Where the validator may skip a subschema
// (a pattern that does not match, an anyOf decided early), the bound does
// not. The bound is computed once per (subschema, value) pair, so its own
// work grows with the pairs, not with the paths.
type costModel struct {
	// dynamic and recursive are the schemas a $dynamicRef (by anchor) or
	// a $recursiveRef may resolve to.
	dynamic   map[string][]*jsonschema.Schema
	recursive []*jsonschema.Schema

	// The quick bound: perValue[s] bounds s's evaluations at any one
	// value up to costDepth levels below the value s is applied to
	// (costInf: not bounded that way), so that a value of n values costs
	// at most n·perValue[s]. depthMemo holds the bounds by depth.
	mu        sync.Mutex
	perValue  map[*jsonschema.Schema]uint64
	depthMemo map[depthKey]uint64
	depthBusy map[depthKey]bool
}

// costDepth is how deep the quick bound looks: deeper instances get the
// exact bound.
const costDepth = 64

// maxDepthMemo bounds the quick bound's own work.
const maxDepthMemo = 200000

type depthKey struct {
	s *jsonschema.Schema
	k int
}

func newCostModel(roots ...*jsonschema.Schema) *costModel {
	m := &costModel{dynamic: map[string][]*jsonschema.Schema{}, perValue: map[*jsonschema.Schema]uint64{},
		depthMemo: map[depthKey]uint64{}, depthBusy: map[depthKey]bool{}}
	seen := map[*jsonschema.Schema]bool{}
	var queue []*jsonschema.Schema
	for _, r := range roots {
		if r != nil && !seen[r] {
			seen[r] = true
			queue = append(queue, r)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s.DynamicAnchor != "" {
			m.dynamic[s.DynamicAnchor] = append(m.dynamic[s.DynamicAnchor], s)
		}
		if s.RecursiveAnchor {
			m.recursive = append(m.recursive, s)
		}
		for _, c := range children(s) {
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	return m
}

// evaluations is the bound on the validator's work to validate instance
// against s; any bound over MaxEvaluations may be reported as costInf.
// It is safe for concurrent use. A schema whose quick bound (the most any
// one value can cost) times the instance's values is within the bound
// gets that product; the others get the exact count of paths, computed
// per pair of subschema and value.
func (m *costModel) evaluations(s *jsonschema.Schema, instance any) uint64 {
	if per := m.quick(s); per < costInf {
		n, depth := shape(instance, 0)
		if depth <= costDepth && n <= MaxEvaluations/max(per, 1) {
			return n * per
		}
	}
	r := &costRun{m: m, memo: map[costKey]uint64{}, busy: map[costKey]bool{}}
	return r.cost(s, instance)
}

// shape is the number of values in v (object keys counted, for
// propertyNames) and its depth, below depth d.
func shape(v any, d int) (n uint64, depth int) {
	n, depth = 1, d
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			c, cd := shape(e, d+1)
			n, depth = n+1+c, max(depth, cd)
		}
	case []any:
		for _, e := range x {
			c, cd := shape(e, d+1)
			n, depth = n+c, max(depth, cd)
		}
	}
	return n, depth
}

// quick is perValue[s], computed once.
func (m *costModel) quick(s *jsonschema.Schema) uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if v, ok := m.perValue[s]; ok {
		return v
	}
	var most uint64
	for k := 0; k <= costDepth && most < costInf; k++ {
		most = max(most, m.at(s, k))
	}
	m.perValue[s] = most
	return most
}

// at bounds s's evaluations at one value k levels below the value s is
// applied to: s itself at depth 0, what s applies in place at depth k, and
// at depth k > 0 the most one member or item can receive at depth k-1.
func (m *costModel) at(s *jsonschema.Schema, k int) uint64 {
	if s == nil {
		return 0
	}
	key := depthKey{s, k}
	if c, ok := m.depthMemo[key]; ok {
		return c
	}
	if m.depthBusy[key] || len(m.depthMemo) > maxDepthMemo {
		return costInf
	}
	m.depthBusy[key] = true
	var c uint64
	if k == 0 {
		c = 1
	}
	for _, x := range m.inPlace(s) {
		c = addCost(c, m.at(x, k))
	}
	if k > 0 {
		c = addCost(c, max(m.objectChild(s, k-1), m.arrayChild(s, k-1)))
	}
	delete(m.depthBusy, key)
	m.depthMemo[key] = c
	return c
}

// objectChild bounds what one member of an object (its key or its value)
// receives from s's object keywords, at depth k below it.
func (m *costModel) objectChild(s *jsonschema.Schema, k int) uint64 {
	var c uint64
	for _, x := range s.Properties {
		c = max(c, m.at(x, k))
	}
	for _, x := range s.PatternProperties {
		c = addCost(c, m.at(x, k))
	}
	if x, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
		c = addCost(c, m.at(x, k))
	}
	c = addCost(c, m.at(s.PropertyNames, k))
	return addCost(c, m.at(s.UnevaluatedProperties, k))
}

// arrayChild bounds what one item of an array receives from s's array
// keywords, at depth k below it.
func (m *costModel) arrayChild(s *jsonschema.Schema, k int) uint64 {
	var c uint64
	for _, x := range s.PrefixItems {
		c = max(c, m.at(x, k))
	}
	switch it := s.Items.(type) {
	case *jsonschema.Schema:
		c = addCost(c, m.at(it, k))
	case []*jsonschema.Schema:
		var p uint64
		for _, x := range it {
			p = max(p, m.at(x, k))
		}
		c = addCost(c, p)
	}
	if x, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
		c = addCost(c, m.at(x, k))
	}
	c = addCost(c, m.at(s.Items2020, k))
	c = addCost(c, m.at(s.Contains, k))
	return addCost(c, m.at(s.UnevaluatedItems, k))
}

// costRun is one instance's bound: the pairs computed and those being
// computed (a pair met again while it is computed is an in-place cycle).
type costRun struct {
	m    *costModel
	memo map[costKey]uint64
	busy map[costKey]bool
}

// costKey is a subschema and a value: an object or an array by identity
// (the same value met twice costs the same), every scalar as one.
type costKey struct {
	s   *jsonschema.Schema
	ptr uintptr
	n   int
}

func keyOf(s *jsonschema.Schema, v any) costKey {
	switch x := v.(type) {
	case map[string]any:
		if len(x) > 0 {
			return costKey{s, reflect.ValueOf(x).Pointer(), -1}
		}
	case []any:
		if len(x) > 0 {
			return costKey{s, reflect.ValueOf(x).Pointer(), len(x)}
		}
	}
	return costKey{s: s}
}

func (r *costRun) cost(s *jsonschema.Schema, v any) uint64 {
	if s == nil {
		return 0
	}
	key := keyOf(s, v)
	if c, ok := r.memo[key]; ok {
		return c
	}
	// Every pair costs at least one evaluation: more pairs than
	// MaxEvaluations cost more than it.
	if r.busy[key] || len(r.memo) > MaxEvaluations {
		// An in-place cycle: the validator stops it with an error, but
		// the paths into it are not bounded here.
		return costInf
	}
	r.busy[key] = true
	c := uint64(1)
	for _, x := range r.m.inPlace(s) {
		c = addCost(c, r.cost(x, v))
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if c > MaxEvaluations {
				break
			}
			c = addCost(c, r.cost(s.PropertyNames, k))
			if p, ok := s.Properties[k]; ok {
				c = addCost(c, r.cost(p, e))
			} else if a, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
				c = addCost(c, r.cost(a, e))
			}
			for _, p := range s.PatternProperties {
				c = addCost(c, r.cost(p, e))
			}
			c = addCost(c, r.cost(s.UnevaluatedProperties, e))
		}
	case []any:
		for i, e := range x {
			if c > MaxEvaluations {
				break
			}
			if i < len(s.PrefixItems) {
				c = addCost(c, r.cost(s.PrefixItems[i], e))
			} else {
				c = addCost(c, r.cost(s.Items2020, e))
			}
			switch it := s.Items.(type) {
			case *jsonschema.Schema:
				c = addCost(c, r.cost(it, e))
			case []*jsonschema.Schema:
				if i < len(it) {
					c = addCost(c, r.cost(it[i], e))
				} else if a, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
					c = addCost(c, r.cost(a, e))
				}
			}
			c = addCost(c, r.cost(s.Contains, e))
			c = addCost(c, r.cost(s.UnevaluatedItems, e))
		}
	}
	delete(r.busy, key)
	r.memo[key] = c
	return c
}

// inPlace lists the subschemas s applies to the value s is applied to.
func (m *costModel) inPlace(s *jsonschema.Schema) []*jsonschema.Schema {
	out := []*jsonschema.Schema{s.Ref, s.Not, s.If, s.Then, s.Else}
	if s.RecursiveRef != nil {
		out = append(out, s.RecursiveRef)
		out = append(out, m.recursive...)
	}
	if s.DynamicRef != nil {
		out = append(out, s.DynamicRef.Ref)
		if s.DynamicRef.Anchor != "" {
			out = append(out, m.dynamic[s.DynamicRef.Anchor]...)
		}
	}
	out = append(out, s.AllOf...)
	out = append(out, s.AnyOf...)
	out = append(out, s.OneOf...)
	for _, x := range s.DependentSchemas {
		out = append(out, x)
	}
	for _, v := range s.Dependencies {
		if x, ok := v.(*jsonschema.Schema); ok {
			out = append(out, x)
		}
	}
	return out
}
