package schemadiff

import (
	"encoding/json"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cascade-dev/cascade/internal/plural"
)

// Arrays: items by position (prefixItems and items in 2020-12, items and
// additionalItems before), item counts, uniqueItems, contains and
// unevaluatedItems.

// prefixOf is the schemas of the first items, by position.
func prefixOf(s *jsonschema.Schema) []*jsonschema.Schema {
	if len(s.PrefixItems) > 0 {
		return s.PrefixItems
	}
	if its, ok := s.Items.([]*jsonschema.Schema); ok {
		return its
	}
	return nil
}

// restOf is the schema of the items after the prefix (nil: any).
func (d *differ) restOf(s *jsonschema.Schema) *jsonschema.Schema {
	if s.Items2020 != nil {
		return s.Items2020
	}
	switch it := s.Items.(type) {
	case *jsonschema.Schema:
		return it
	case []*jsonschema.Schema:
		switch a := s.AdditionalItems.(type) {
		case bool:
			if !a {
				return d.noneSchema(ptr(s) + "/additionalItems")
			}
		case *jsonschema.Schema:
			return a
		}
	}
	return nil
}

// itemAt is the schema of the item at position i (nil: any).
func (d *differ) itemAt(s *jsonschema.Schema, i int) *jsonschema.Schema {
	if p := prefixOf(s); i < len(p) {
		return p[i]
	}
	return d.restOf(s)
}

func itemSchema(s *jsonschema.Schema) *jsonschema.Schema {
	if s.Items2020 != nil {
		return s.Items2020
	}
	if it, ok := s.Items.(*jsonschema.Schema); ok {
		return it
	}
	return nil
}

// exampleItem is an item valid at position i of s, or "x".
func (d *differ) exampleItem(s *jsonschema.Schema, i int) any {
	if it := d.itemAt(s, i); it != nil {
		if v, ok := d.g.example(it); ok {
			return v
		}
	}
	return "x"
}

// placeAt places a value at position i of an array valid elsewhere under s.
func (d *differ) placeAt(e embed, s *jsonschema.Schema, i int) embed {
	return func(v any) any {
		arr := []any{}
		for j := 0; j < i; j++ {
			arr = append(arr, d.exampleItem(s, j))
		}
		arr = append(arr, v)
		for s.MinItems != nil && len(arr) < *s.MinItems && len(arr) < 1000 {
			arr = append(arr, distinct([]any{d.exampleItem(s, len(arr))}, len(arr)))
		}
		return e(arr)
	}
}

func (d *differ) compareArray(o, n *jsonschema.Schema, eo, en embed) {
	last := max(len(prefixOf(o)), len(prefixOf(n)))
	for i := 0; i < last; i++ {
		a, b := d.itemAt(o, i), d.itemAt(n, i)
		if a == nil && b == nil {
			continue
		}
		p := fmt.Sprintf("/prefixItems/%d", i)
		d.compare(d.orAny(a, ptr(o)+p), d.orAny(b, ptr(n)+p), d.placeAt(eo, o, i), d.placeAt(en, n, i))
	}
	if ro, rn := d.restOf(o), d.restOf(n); ro != nil || rn != nil {
		d.compare(d.orAny(ro, ptr(o)+"/items"), d.orAny(rn, ptr(n)+"/items"), d.placeAt(eo, o, last), d.placeAt(en, n, last))
	}
	d.compareCount(o.MinItems, o.MaxItems, n.MinItems, n.MaxItems, n, "Items", "items",
		func(k int, s *jsonschema.Schema) []any {
			arr := []any{}
			for i := 0; i < k; i++ {
				arr = append(arr, distinct([]any{d.exampleItem(s, i)}, i))
			}
			return []any{arr}
		}, o, eo, en)
	if n.UniqueItems && !o.UniqueItems {
		x := d.exampleItem(o, 0)
		d.tightened(n, "uniqueItems", "array items must be unique now", eo, []any{[]any{x, clone(x)}, []any{"x", "x"}, []any{json.Number("1"), json.Number("1")}})
	}
	if o.UniqueItems && !n.UniqueItems {
		x := d.exampleItem(n, 0)
		d.loosened(n, "uniqueItems", "array items no longer need to be unique", en, []any{[]any{x, clone(x)}, []any{"x", "x"}, []any{json.Number("1"), json.Number("1")}})
	}
	d.compareContains(o, n, eo, en)
	d.compareUnevaluatedItems(o, n, eo, en)
}

func minContains(s *jsonschema.Schema) int {
	switch {
	case s.Contains == nil:
		return 0
	case s.MinContains != nil:
		return *s.MinContains
	}
	return 1
}

func maxContains(s *jsonschema.Schema) int {
	if s.Contains == nil || s.MaxContains == nil {
		return -1
	}
	return *s.MaxContains
}

// compareContains compares contains, minContains and maxContains. Without
// maxContains, contains only asks for enough matching items: its subschema
// is compared like an item's, and the counts as numbers. With maxContains,
// an item that matches more can also reject: a changed contains is then
// shown with a witness each way or left undecided.
func (d *differ) compareContains(o, n *jsonschema.Schema, eo, en embed) {
	oc, nc := o.Contains, n.Contains
	if oc == nil && nc == nil {
		return
	}
	omin, nmin, omax, nmax := minContains(o), minContains(n), maxContains(o), maxContains(n)
	// arrays of k items matching s (distinct, for uniqueItems).
	matching := func(s *jsonschema.Schema, k int) []any {
		if k > maxWitness {
			d.oversize = true
			return nil
		}
		var out []any
		for _, c := range d.g.candidates(s, "", 0) {
			if !d.valid(s, c) {
				continue
			}
			arr := []any{}
			for i := 0; i < k; i++ {
				arr = append(arr, distinct([]any{c}, i))
			}
			out = append(out, arr)
			if len(out) >= 4 {
				break
			}
		}
		return out
	}
	if oc != nil && nc != nil && (omax < 0 && nmax < 0 || d.eq(oc, nc)) {
		// k copies of the item: as many as the schema asks to match.
		copies := func(e embed, k int) embed {
			return func(v any) any {
				arr := []any{}
				for i := 0; i < max(k, 1); i++ {
					arr = append(arr, distinct([]any{v}, i))
				}
				return e(arr)
			}
		}
		d.compare(oc, nc, copies(eo, omin), copies(en, nmin))
		var tc, lc []any
		for k := omin; k < nmin && k < omin+5; k++ {
			tc = append(tc, matching(oc, k)...)
		}
		if nmin > omin {
			d.tightened(n, "minContains", fmt.Sprintf("at least %s must match contains now (was %d)", plural.Count(nmin, "item"), omin), eo, tc)
		}
		for k := nmin; k < omin && k < nmin+5; k++ {
			lc = append(lc, matching(nc, k)...)
		}
		if nmin < omin {
			d.loosened(n, "minContains", fmt.Sprintf("at least %s must match contains now (was %d)", plural.Count(nmin, "item"), omin), en, lc)
		}
		if nmax >= 0 && (omax < 0 || nmax < omax) {
			var c []any
			for k := nmax + 1; k <= nmax+3 && (omax < 0 || k <= omax); k++ {
				c = append(c, matching(oc, k)...)
			}
			d.tightened(n, "maxContains", fmt.Sprintf("at most %s may match contains now (was %s)", plural.Count(nmax, "item"), bound(o.MaxContains)), eo, c)
		}
		if omax >= 0 && (nmax < 0 || nmax > omax) {
			var c []any
			for k := omax + 1; k <= omax+3 && (nmax < 0 || k <= nmax); k++ {
				c = append(c, matching(nc, k)...)
			}
			d.loosened(n, "maxContains", fmt.Sprintf("at most %s items may match contains now (was %d)", bound(n.MaxContains), omax), en, c)
		}
		return
	}
	msg := "contains changed: which items it counts could not be compared"
	switch {
	case oc == nil:
		msg = "contains added: arrays must hold a matching item now"
	case nc == nil:
		msg = "contains removed"
	}
	var cands []any
	for _, s := range []*jsonschema.Schema{oc, nc} {
		if s == nil {
			continue
		}
		for k := 0; k <= 3; k++ {
			cands = append(cands, matching(s, k)...)
		}
	}
	cands = append(cands, []any{}, []any{"x"}, []any{json.Number("1")}, []any{nil})
	if nc != nil {
		d.tightened(n, "contains", msg, eo, append(cands, d.g.candidates(o, "array", 0)...))
	}
	if oc != nil {
		d.loosened(n, "contains", msg, en, append(cands, d.g.candidates(n, "array", 0)...))
	}
}

// compareUnevaluatedItems compares unevaluatedItems where both schemas
// evaluate the same items; otherwise each direction is shown or left
// undecided.
func (d *differ) compareUnevaluatedItems(o, n *jsonschema.Schema, eo, en embed) {
	ou, nu := o.UnevaluatedItems, n.UnevaluatedItems
	if ou == nil && nu == nil {
		return
	}
	last := max(len(prefixOf(o)), len(prefixOf(n)))
	if d.sameEvaluation(o, n, false, true, map[[2]*jsonschema.Schema]bool{}) {
		if d.restOf(o) != nil || o.AdditionalItems != nil {
			return // every item is evaluated
		}
		p := "/unevaluatedItems"
		d.compare(d.orAny(ou, ptr(o)+p), d.orAny(nu, ptr(n)+p), d.placeAt(eo, o, last), d.placeAt(en, n, last))
		return
	}
	msg := "unevaluatedItems: which items count as evaluated changed (prefixItems, items, contains, allOf, anyOf, oneOf, if/then/else or $ref)"
	longer := func(s *jsonschema.Schema) []any {
		var out []any
		for _, c := range d.g.candidates(s, "array", 0) {
			out = append(out, c)
			for _, extra := range []any{"x", json.Number("1"), nil} {
				out = append(out, append(clone(c).([]any), extra))
			}
		}
		for k := last; k <= last+1; k++ {
			arr := []any{}
			for i := 0; i <= k; i++ {
				arr = append(arr, d.exampleItem(s, i))
			}
			out = append(out, arr)
		}
		return out
	}
	if nu != nil {
		d.tightened(n, "unevaluatedItems", msg, eo, longer(o))
	}
	if ou != nil {
		d.loosened(n, "unevaluatedItems", msg, en, longer(n))
	}
}
