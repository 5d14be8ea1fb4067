package schemadiff

import (
	"math/big"
	"reflect"
	"slices"
	"sort"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Equality of compiled subschemas. Two subschemas are equal when every
// keyword that validates has the same value and their subschemas are equal
// in turn, references followed (a recursion is assumed equal: the pairs
// visited then form a bisimulation). Annotations (title, description,
// examples, ...) do not count. $dynamicRef and $recursiveRef are never
// equal: where they lead depends on the path the validator took.

// eq reports whether a and b certainly accept the same instances because
// they are built the same way.
func (d *differ) eq(a, b *jsonschema.Schema) bool {
	a, b = deref(a), deref(b)
	key := [2]*jsonschema.Schema{a, b}
	if v, ok := d.eqMemo[key]; ok {
		return v
	}
	visiting := map[[2]*jsonschema.Schema]bool{}
	steps := 0
	ok := d.eqRec(a, b, visiting, &steps)
	if ok {
		// Every pair visited held under the same assumptions.
		for k := range visiting {
			d.eqMemo[k] = true
		}
	} else {
		d.eqMemo[key] = false
	}
	return ok
}

func (d *differ) eqRec(a, b *jsonschema.Schema, visiting map[[2]*jsonschema.Schema]bool, steps *int) bool {
	a, b = deref(a), deref(b)
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	key := [2]*jsonschema.Schema{a, b}
	if v, ok := d.eqMemo[key]; ok {
		return v
	}
	if visiting[key] {
		return true
	}
	visiting[key] = true
	if *steps++; *steps > maxEqSteps {
		return false
	}
	sub := func(x, y *jsonschema.Schema) bool { return d.eqRec(x, y, visiting, steps) }
	subs := func(x, y []*jsonschema.Schema) bool {
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !sub(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	subMap := func(x, y map[string]*jsonschema.Schema) bool {
		if len(x) != len(y) {
			return false
		}
		for k, xs := range x {
			ys, ok := y[k]
			if !ok || !sub(xs, ys) {
				return false
			}
		}
		return true
	}
	anyEq := func(x, y any) bool { // nil, bool, *Schema, []*Schema or []string
		switch x := x.(type) {
		case nil:
			return y == nil
		case bool:
			yb, ok := y.(bool)
			return ok && x == yb
		case *jsonschema.Schema:
			ys, ok := y.(*jsonschema.Schema)
			return ok && sub(x, ys)
		case []*jsonschema.Schema:
			ys, ok := y.([]*jsonschema.Schema)
			return ok && subs(x, ys)
		case []string:
			ys, ok := y.([]string)
			return ok && sameSet(x, ys)
		}
		return false
	}
	if a.DynamicRef != nil || b.DynamicRef != nil || a.RecursiveRef != nil || b.RecursiveRef != nil ||
		len(a.Extensions) > 0 || len(b.Extensions) > 0 {
		return false
	}
	if a.DraftVersion != b.DraftVersion || !eqPtr(a.Bool, b.Bool) || a.RecursiveAnchor != b.RecursiveAnchor ||
		a.DynamicAnchor != b.DynamicAnchor || !eqPtr(a.Types, b.Types) || !eqValues(a, b) || formatName(a) != formatName(b) ||
		!eqPtr(a.MaxProperties, b.MaxProperties) || !eqPtr(a.MinProperties, b.MinProperties) || !sameSet(a.Required, b.Required) ||
		!eqPtr(a.MinItems, b.MinItems) || !eqPtr(a.MaxItems, b.MaxItems) || a.UniqueItems != b.UniqueItems ||
		!eqPtr(a.MinContains, b.MinContains) || !eqPtr(a.MaxContains, b.MaxContains) ||
		!eqPtr(a.MinLength, b.MinLength) || !eqPtr(a.MaxLength, b.MaxLength) || patternText(a) != patternText(b) ||
		a.ContentEncoding != b.ContentEncoding || a.ContentMediaType != b.ContentMediaType ||
		!eqRat(a.Maximum, b.Maximum) || !eqRat(a.Minimum, b.Minimum) || !eqRat(a.ExclusiveMaximum, b.ExclusiveMaximum) ||
		!eqRat(a.ExclusiveMinimum, b.ExclusiveMinimum) || !eqRat(a.MultipleOf, b.MultipleOf) ||
		!patternsByText(a).sameNames(patternsByText(b)) || len(a.Dependencies) != len(b.Dependencies) ||
		len(a.DependentRequired) != len(b.DependentRequired) {
		return false
	}
	for k, x := range a.Dependencies {
		if y, ok := b.Dependencies[k]; !ok || !anyEq(x, y) {
			return false
		}
	}
	for k, x := range a.DependentRequired {
		if y, ok := b.DependentRequired[k]; !ok || !sameSet(x, y) {
			return false
		}
	}
	pa, pb := patternsByText(a), patternsByText(b)
	for t, x := range pa {
		if !sub(x, pb[t]) {
			return false
		}
	}
	return sub(a.Ref, b.Ref) && sub(a.Not, b.Not) && subs(a.AllOf, b.AllOf) && subs(a.AnyOf, b.AnyOf) &&
		subs(a.OneOf, b.OneOf) && sub(a.If, b.If) && sub(a.Then, b.Then) && sub(a.Else, b.Else) &&
		sub(a.PropertyNames, b.PropertyNames) && subMap(a.Properties, b.Properties) &&
		anyEq(a.AdditionalProperties, b.AdditionalProperties) && subMap(a.DependentSchemas, b.DependentSchemas) &&
		sub(a.UnevaluatedProperties, b.UnevaluatedProperties) && sub(a.Contains, b.Contains) &&
		anyEq(a.Items, b.Items) && anyEq(a.AdditionalItems, b.AdditionalItems) && subs(a.PrefixItems, b.PrefixItems) &&
		sub(a.Items2020, b.Items2020) && sub(a.UnevaluatedItems, b.UnevaluatedItems) && sub(a.ContentSchema, b.ContentSchema)
}

func eqPtr[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func eqRat(a, b *big.Rat) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Cmp(b) == 0
}

// eqValues compares const and enum by their JSON text (1 and 1.0 differ:
// a false "not equal" only costs a closer look).
func eqValues(a, b *jsonschema.Schema) bool {
	if (a.Const == nil) != (b.Const == nil) || (a.Enum == nil) != (b.Enum == nil) {
		return false
	}
	if a.Const != nil && jsonText(*a.Const) != jsonText(*b.Const) {
		return false
	}
	return a.Enum == nil || jsonText(a.Enum.Values) == jsonText(b.Enum.Values)
}

func sameSet(a, b []string) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	sort.Strings(x)
	sort.Strings(y)
	return slices.Equal(slices.Compact(x), slices.Compact(y))
}

func patternText(s *jsonschema.Schema) string {
	if s.Pattern == nil {
		return ""
	}
	return s.Pattern.String()
}

// patterns is a schema's patternProperties by the text of each pattern.
type patterns map[string]*jsonschema.Schema

func patternsByText(s *jsonschema.Schema) patterns {
	m := patterns{}
	for re, sub := range s.PatternProperties {
		m[re.String()] = sub
	}
	return m
}

func (p patterns) sameNames(q patterns) bool {
	if len(p) != len(q) {
		return false
	}
	for t := range p {
		if _, ok := q[t]; !ok {
			return false
		}
	}
	return true
}

func (p patterns) sorted() []string {
	out := make([]string, 0, len(p))
	for t := range p {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// refNeutral are the fields a schema standing for its $ref alone may set.
var refNeutral = map[string]bool{"DraftVersion": true, "Location": true, "Ref": true, "ID": true, "Anchor": true,
	"Title": true, "Description": true, "Default": true, "Comment": true, "ReadOnly": true, "WriteOnly": true,
	"Examples": true, "Deprecated": true}

// onlyRef reports whether s is a $ref and nothing else that validates.
// Every other exported field of the compiled schema must be unset, so a
// keyword the library adds later keeps the schema from being skipped.
func onlyRef(s *jsonschema.Schema) bool {
	v := reflect.ValueOf(s).Elem()
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() || refNeutral[f.Name] {
			continue
		}
		if !v.Field(i).IsZero() {
			return false
		}
	}
	return true
}

// acceptsAll reports whether s is true or a schema with no keyword that
// validates.
func acceptsAll(s *jsonschema.Schema) bool {
	return s.Bool != nil && *s.Bool || s.Bool == nil && s.Ref == nil && onlyRef(s)
}

// acceptsAllValue is acceptsAll for a keyword that holds a schema or a
// boolean, absent meaning true.
func acceptsAllValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return v
	case *jsonschema.Schema:
		return acceptsAll(v)
	}
	return false
}

// children lists the subschemas of s.
func children(s *jsonschema.Schema) []*jsonschema.Schema {
	out := []*jsonschema.Schema{s.Ref, s.RecursiveRef, s.Not, s.If, s.Then, s.Else, s.PropertyNames,
		s.UnevaluatedProperties, s.Contains, s.Items2020, s.UnevaluatedItems, s.ContentSchema}
	if s.DynamicRef != nil {
		out = append(out, s.DynamicRef.Ref)
	}
	out = append(out, s.AllOf...)
	out = append(out, s.AnyOf...)
	out = append(out, s.OneOf...)
	out = append(out, s.PrefixItems...)
	for _, m := range []map[string]*jsonschema.Schema{s.Properties, s.DependentSchemas} {
		for _, x := range m {
			out = append(out, x)
		}
	}
	for _, x := range s.PatternProperties {
		out = append(out, x)
	}
	for _, v := range []any{s.AdditionalProperties, s.Items, s.AdditionalItems} {
		switch v := v.(type) {
		case *jsonschema.Schema:
			out = append(out, v)
		case []*jsonschema.Schema:
			out = append(out, v...)
		}
	}
	for _, v := range s.Dependencies {
		if x, ok := v.(*jsonschema.Schema); ok {
			out = append(out, x)
		}
	}
	return slices.DeleteFunc(out, func(x *jsonschema.Schema) bool { return x == nil })
}

// standalone reports whether s validates the same on its own as in place:
// no $dynamicRef or $recursiveRef is reachable from it.
func (d *differ) standalone(s *jsonschema.Schema) bool {
	if v, ok := d.alone[s]; ok {
		return v
	}
	seen := map[*jsonschema.Schema]bool{s: true}
	queue := []*jsonschema.Schema{s}
	ok := true
	for len(queue) > 0 && ok {
		x := queue[0]
		queue = queue[1:]
		if x.DynamicRef != nil || x.RecursiveRef != nil || len(seen) > maxReachable {
			ok = false
			break
		}
		for _, c := range children(x) {
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
	d.alone[s] = ok
	return ok
}

// sameEvaluation reports whether a and b mark the same object properties
// (props) or array items as evaluated, for unevaluatedProperties and
// unevaluatedItems, for any instance both accept. Conjunctive parts
// (allOf, $ref, dependentSchemas) need the same shape: the same property
// names, patterns, item positions. Parts that evaluate only when their
// subschema matches (anyOf, oneOf, if/then/else, contains) must be equal.
// top leaves out the keyword being compared itself.
func (d *differ) sameEvaluation(a, b *jsonschema.Schema, props, top bool, visiting map[[2]*jsonschema.Schema]bool) bool {
	a, b = deref(a), deref(b)
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	key := [2]*jsonschema.Schema{a, b}
	if visiting[key] {
		return true
	}
	visiting[key] = true
	if len(visiting) > maxEqSteps || a.DraftVersion != b.DraftVersion || a.Bool != nil || b.Bool != nil {
		return a.Bool != nil && b.Bool != nil && *a.Bool == *b.Bool && a.DraftVersion == b.DraftVersion
	}
	if a.DynamicRef != nil || b.DynamicRef != nil || a.RecursiveRef != nil || b.RecursiveRef != nil {
		return false
	}
	same := func(x, y *jsonschema.Schema) bool { return d.sameEvaluation(x, y, props, false, visiting) }
	if props {
		if !sameSet(keys(a.Properties), keys(b.Properties)) || !patternsByText(a).sameNames(patternsByText(b)) ||
			(a.AdditionalProperties == nil) != (b.AdditionalProperties == nil) ||
			!top && (a.UnevaluatedProperties == nil) != (b.UnevaluatedProperties == nil) ||
			!sameSet(keys(a.DependentSchemas), keys(b.DependentSchemas)) {
			return false
		}
		for k, x := range a.DependentSchemas {
			if !same(x, b.DependentSchemas[k]) {
				return false
			}
		}
		for k, x := range a.Dependencies {
			xs, _ := x.(*jsonschema.Schema)
			ys, _ := b.Dependencies[k].(*jsonschema.Schema)
			if (xs == nil) != (ys == nil) || xs != nil && !same(xs, ys) {
				return false
			}
		}
		for k, y := range b.Dependencies {
			if _, ok := y.(*jsonschema.Schema); ok && a.Dependencies[k] == nil {
				return false
			}
		}
	} else {
		if len(prefixOf(a)) != len(prefixOf(b)) || (a.Items2020 == nil) != (b.Items2020 == nil) ||
			reflect.TypeOf(a.Items) != reflect.TypeOf(b.Items) || (a.AdditionalItems == nil) != (b.AdditionalItems == nil) ||
			!top && (a.UnevaluatedItems == nil) != (b.UnevaluatedItems == nil) || !d.eq(a.Contains, b.Contains) {
			return false
		}
	}
	if len(a.AllOf) != len(b.AllOf) || (a.Ref == nil) != (b.Ref == nil) || a.Ref != nil && !same(a.Ref, b.Ref) {
		return false
	}
	for i := range a.AllOf {
		if !same(a.AllOf[i], b.AllOf[i]) {
			return false
		}
	}
	if len(a.AnyOf) != len(b.AnyOf) || len(a.OneOf) != len(b.OneOf) {
		return false
	}
	for i := range a.AnyOf {
		if !d.eq(a.AnyOf[i], b.AnyOf[i]) {
			return false
		}
	}
	for i := range a.OneOf {
		if !d.eq(a.OneOf[i], b.OneOf[i]) {
			return false
		}
	}
	return d.eq(a.If, b.If) && d.eq(a.Then, b.Then) && d.eq(a.Else, b.Else)
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// disjoint reports whether no instance can be valid under both a and b
// (false when it cannot tell). It looks at boolean schemas, enumerated
// values, types, a property both require with disjoint schemas (a
// discriminator), string lengths and number ranges.
func (d *differ) disjoint(a, b *jsonschema.Schema, depth int) bool {
	a, b = deref(a), deref(b)
	if a == nil || b == nil || depth > 3 {
		return false
	}
	if a.Bool != nil && !*a.Bool || b.Bool != nil && !*b.Bool {
		return true
	}
	if a.Bool != nil || b.Bool != nil || !d.standalone(a) || !d.standalone(b) {
		return false
	}
	for _, p := range [][2]*jsonschema.Schema{{a, b}, {b, a}} {
		if vs, ok := values(p[0]); ok {
			both := false
			for _, v := range vs {
				a, erra := d.check(p[0], v)
				b, errb := d.check(p[1], v)
				if erra != nil || errb != nil || a && b {
					both = true
					break
				}
			}
			if !both {
				return true
			}
		}
	}
	ta, tb := typeSet(a), typeSet(b)
	for t := range ta {
		if !tb[t] {
			continue
		}
		switch t {
		case "object":
			if !d.objectsDisjoint(a, b, depth) {
				return false
			}
		case "string":
			if !countsDisjoint(a.MinLength, a.MaxLength, b.MinLength, b.MaxLength) {
				return false
			}
		case "number", "integer":
			if !bounds(a).disjoint(bounds(b)) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func (d *differ) objectsDisjoint(a, b *jsonschema.Schema, depth int) bool {
	for _, r := range a.Required {
		if !slices.Contains(b.Required, r) {
			continue
		}
		pa, pb := a.Properties[r], b.Properties[r]
		if pa != nil && pb != nil && d.disjoint(pa, pb, depth+1) {
			return true
		}
	}
	return countsDisjoint(a.MinProperties, a.MaxProperties, b.MinProperties, b.MaxProperties)
}

func countsDisjoint(amin, amax, bmin, bmax *int) bool {
	return amax != nil && bmin != nil && *amax < *bmin || bmax != nil && amin != nil && *bmax < *amin
}

func (a interval) disjoint(b interval) bool {
	below := func(x, y interval) bool { // every value of x is below every value of y
		if x.hi == nil || y.lo == nil {
			return false
		}
		c := x.hi.Cmp(y.lo)
		return c < 0 || c == 0 && (x.hiOpen || y.loOpen)
	}
	return below(a, b) || below(b, a)
}
