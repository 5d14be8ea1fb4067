package schemadiff

import (
	"fmt"
	"slices"
	"sort"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Subschemas applied in place: $ref, allOf, anyOf, oneOf, not and
// if/then/else.

func (d *differ) compareComposition(o, n *jsonschema.Schema, eo, en embed) {
	ieo, ien := d.inPlace(eo, o), d.inPlace(en, n)
	switch {
	case o.Ref != nil && n.Ref != nil:
		d.compare(o.Ref, n.Ref, ieo, ien)
	case n.Ref != nil:
		// A $ref beside other keywords is one more constraint.
		d.compare(d.anySchema(ptr(o)+"/$ref"), n.Ref, ieo, ien)
	case o.Ref != nil:
		d.compare(o.Ref, d.anySchema(ptr(n)+"/$ref"), ieo, ien)
	}
	d.compareAllOf(o, n, ieo, ien)
	d.compareBranches("anyOf", o, n, eo, en)
	d.compareBranches("oneOf", o, n, eo, en)
	d.compareNot(o, n, eo, en)
	d.compareIf(o, n, eo, en)
}

type pair struct{ o, n int }

// pairUp matches subschemas: equal ones go together and are left out;
// the others are paired in order when as many changed on both sides, else
// by the types they allow. What is left has no counterpart.
func (d *differ) pairUp(os, ns []*jsonschema.Schema) (changed []pair, removed, added []int) {
	usedN := make([]bool, len(ns))
	var restO []int
	for i, x := range os {
		match := -1
		for j, y := range ns {
			if !usedN[j] && d.eq(x, y) {
				match = j
				break
			}
		}
		if match >= 0 {
			usedN[match] = true
		} else {
			restO = append(restO, i)
		}
	}
	var restN []int
	for j := range ns {
		if !usedN[j] {
			restN = append(restN, j)
		}
	}
	if len(restO) == len(restN) {
		for k := range restO {
			changed = append(changed, pair{restO[k], restN[k]})
		}
		return changed, nil, nil
	}
	typeKey := func(s *jsonschema.Schema) string {
		s = deref(s)
		if s.Bool != nil {
			return fmt.Sprint(*s.Bool)
		}
		return fmt.Sprint(allowed(typeSet(s)))
	}
	for _, i := range restO {
		k := slices.IndexFunc(restN, func(j int) bool { return j >= 0 && typeKey(ns[j]) == typeKey(os[i]) })
		if k < 0 {
			removed = append(removed, i)
			continue
		}
		changed = append(changed, pair{i, restN[k]})
		restN[k] = -1
	}
	for _, j := range restN {
		if j >= 0 {
			added = append(added, j)
		}
	}
	return changed, removed, added
}

// compareAllOf compares allOf members: each with its counterpart; a
// member added can only tighten, one removed only loosen.
func (d *differ) compareAllOf(o, n *jsonschema.Schema, eo, en embed) {
	if len(o.AllOf) == 0 && len(n.AllOf) == 0 {
		return
	}
	changed, removed, added := d.pairUp(o.AllOf, n.AllOf)
	for _, p := range changed {
		d.compare(o.AllOf[p.o], n.AllOf[p.n], eo, en)
	}
	for _, i := range removed {
		d.compare(o.AllOf[i], d.anySchema(ptr(n)+"/allOf"), eo, en)
	}
	for _, j := range added {
		d.compare(d.anySchema(ptr(o)+"/allOf"), n.AllOf[j], eo, en)
	}
}

func branches(s *jsonschema.Schema, kw string) []*jsonschema.Schema {
	if kw == "anyOf" {
		return s.AnyOf
	}
	return s.OneOf
}

// compareBranches compares anyOf or oneOf branches. Equal branches are
// matched whatever their order; a changed branch is compared with its
// counterpart; a branch removed may reject what only it accepted, one
// added accept what none did. For oneOf, where an instance must match
// exactly one branch, a branch that may have grown can overlap another
// and reject what matched only that one, and a branch that may have
// shrunk can stop overlapping: unless the two are shown disjoint, each
// such pair is searched for a witness or left undecided.
func (d *differ) compareBranches(kw string, o, n *jsonschema.Schema, eo, en embed) {
	ob, nb := branches(o, kw), branches(n, kw)
	if len(ob) == 0 && len(nb) == 0 {
		return
	}
	ieo, ien := d.inPlace(eo, o), d.inPlace(en, n)
	if len(ob) == 0 {
		d.tightened(n, kw, kw+" added", ieo, d.g.around(append([]*jsonschema.Schema{o}, nb...)...))
		return
	}
	if len(nb) == 0 {
		d.loosened(n, kw, kw+" removed", ien, d.g.around(append([]*jsonschema.Schema{n}, ob...)...))
		return
	}
	// Candidates are first checked against the subschemas here, which is
	// cheap, and only those that can be witnesses against whole instances.
	fillO, fillN := d.filler(o), d.filler(n)
	local := func(fill func(any) any, cands []any, accept []*jsonschema.Schema, reject *jsonschema.Schema) []any {
		for _, s := range append([]*jsonschema.Schema{reject}, accept...) {
			if !d.standalone(s) {
				return cands
			}
		}
		var out []any
		for _, c := range cands {
			u := fill(c)
			// A candidate is dropped only when the validators decided:
			// the witness check decides the rest.
			rejected, err := d.check(reject, u)
			ok := err != nil || !rejected
			for _, s := range accept {
				a, err := d.check(s, u)
				ok = ok && (err != nil || a)
			}
			if ok {
				out = append(out, c)
			}
		}
		return out
	}
	changed, removed, added := d.pairUp(ob, nb)
	grown := map[int]bool{}  // new branches that may accept more
	shrunk := map[int]bool{} // old branches that may accept less
	for _, p := range changed {
		t, l := d.sub(ob[p.o], nb[p.n], ieo, ien)
		// Where a direction is not searched, assume the worst.
		grown[p.n] = l || d.skipL
		shrunk[p.o] = t || d.skipT
	}
	for _, i := range removed {
		shrunk[i] = true
		d.tightened(n, kw, fmt.Sprintf("branch %d of the old %s was removed", i, kw), ieo,
			local(fillO, d.g.around(append([]*jsonschema.Schema{ob[i]}, nb...)...), []*jsonschema.Schema{o, ob[i]}, n))
	}
	for _, j := range added {
		grown[j] = true
		d.loosened(nb[j], "", fmt.Sprintf("branch %d of %s was added", j, kw), ien,
			local(fillN, d.g.around(append([]*jsonschema.Schema{nb[j]}, nb...)...), []*jsonschema.Schema{n, nb[j]}, o))
	}
	if kw != "oneOf" {
		return
	}
	for _, j := range sortedTrue(grown) {
		for k := range nb {
			if k == j || grown[k] && k < j || d.disjoint(nb[j], nb[k], 0) {
				continue
			}
			a, b := min(j, k), max(j, k)
			d.tightened(n, fmt.Sprintf("oneOf/%d", j), fmt.Sprintf("branches %d and %d may both match an instance, which oneOf then rejects", a, b),
				ieo, local(fillO, d.g.overlap(nb[j], nb[k]), []*jsonschema.Schema{o, nb[j], nb[k]}, n))
		}
	}
	for _, i := range sortedTrue(shrunk) {
		for l := range ob {
			if l == i || shrunk[l] && l < i || d.disjoint(ob[i], ob[l], 0) {
				continue
			}
			a, b := min(i, l), max(i, l)
			d.loosened(n, "oneOf", fmt.Sprintf("old branches %d and %d both matched some instances, which oneOf rejected; they may match only one now", a, b),
				ien, local(fillN, d.g.overlap(ob[i], ob[l]), []*jsonschema.Schema{n, ob[i], ob[l]}, o))
		}
	}
}

func sortedTrue(m map[int]bool) []int {
	var out []int
	for k, v := range m {
		if v {
			out = append(out, k)
		}
	}
	sort.Ints(out)
	return out
}

// compareNot: the new not rejects more where its subschema accepts more,
// so the subschemas are compared with old and new swapped.
func (d *differ) compareNot(o, n *jsonschema.Schema, eo, en embed) {
	switch {
	case o.Not == nil && n.Not == nil:
	case o.Not != nil && n.Not != nil:
		d.notDepth++
		d.compare(n.Not, o.Not, eo, en)
		d.notDepth--
	case n.Not != nil:
		d.tightened(n, "not", "not added: instances matching it are rejected now", eo, append(d.g.candidates(n.Not, "", 0), anyValues()...))
	default:
		d.loosened(n, "not", "not removed: instances matching it are accepted now", en, append(d.g.candidates(o.Not, "", 0), anyValues()...))
	}
}

// when places an instance of then: objects get an example of if merged in.
func (d *differ) when(e embed, s, cond *jsonschema.Schema) embed {
	e = d.inPlace(e, s)
	ex, ok := d.g.exampleOfType(cond, "object")
	if !ok {
		return e
	}
	return func(v any) any {
		obj, ok := v.(map[string]any)
		if !ok {
			return e(v)
		}
		merged := clone(ex).(map[string]any)
		for k, x := range obj {
			merged[k] = x
		}
		if d.valid(cond, merged) {
			return e(merged)
		}
		return e(v)
	}
}

// compareIf compares then and else when if is the same; a changed if
// changes which instances they apply to, and each direction is shown with
// a witness or left undecided.
func (d *differ) compareIf(o, n *jsonschema.Schema, eo, en embed) {
	oi, ni := o.If, n.If
	// if alone constrains nothing.
	if o.Then == nil && o.Else == nil {
		oi = nil
	}
	if n.Then == nil && n.Else == nil {
		ni = nil
	}
	if oi == nil && ni == nil {
		return
	}
	if oi != nil && ni != nil && d.eq(oi, ni) {
		d.compare(d.orAny(o.Then, ptr(o)+"/then"), d.orAny(n.Then, ptr(n)+"/then"), d.when(eo, o, oi), d.when(en, n, ni))
		d.compare(d.orAny(o.Else, ptr(o)+"/else"), d.orAny(n.Else, ptr(n)+"/else"), d.inPlace(eo, o), d.inPlace(en, n))
		return
	}
	var parts []*jsonschema.Schema
	for _, s := range []*jsonschema.Schema{o, n, oi, ni, o.Then, n.Then, o.Else, n.Else} {
		if s != nil {
			parts = append(parts, s)
		}
	}
	cands := d.g.around(parts...)
	for _, c := range []*jsonschema.Schema{oi, ni} {
		if c == nil {
			continue
		}
		for _, x := range d.g.candidates(c, "", 0) {
			if d.valid(c, x) {
				cands = append(cands, x)
			}
		}
	}
	msg := "if changed: which instances then and else apply to could not be compared"
	switch {
	case oi == nil:
		msg = "if/then/else added"
	case ni == nil:
		msg = "if/then/else removed"
	}
	if ni != nil {
		d.tightened(n, "if", msg, d.inPlace(eo, o), cands)
	}
	if oi != nil {
		d.loosened(n, "if", msg, d.inPlace(en, n), cands)
	}
}
