package schemadiff

import (
	"encoding/json"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Finding is one difference: where in the new schema (a JSON pointer to the
// keyword), what changed, and a witness instance.
type Finding struct {
	Path    string `json:"path"`
	Message string `json:"message"`
	Witness any    `json:"witness,omitempty"`
}

// Result is the comparison of two schemas.
type Result struct {
	// Breaking is true when the new schema rejects something the old accepted.
	Breaking  bool      `json:"breaking"`
	Tightened []Finding `json:"tightened"`
	Loosened  []Finding `json:"loosened"`
	Unknown   []Finding `json:"unknown"`
}

// Compare compares old and new.
func Compare(old, new *Schema) Result { return compareWith(old, new, true) }

// compareWith compares; without shortcut, subschemas written the same way
// are analysed keyword by keyword too (tests use it to check that the
// analysis itself finds no difference between equal schemas).
func compareWith(old, new *Schema, shortcut bool) Result {
	d := &differ{old: old, new: new, seen: map[[2]*jsonschema.Schema]bool{}, noShortcut: !shortcut, g: newGen()}
	id := func(v any) any { return v }
	d.compare(old.Compiled, new.Compiled, id, id)
	r := Result{Tightened: dedupe(d.tight), Loosened: dedupe(d.loose), Unknown: dedupe(d.unknown)}
	for _, fs := range []*[]Finding{&r.Tightened, &r.Loosened, &r.Unknown} {
		if *fs == nil {
			*fs = []Finding{}
		}
	}
	r.Breaking = len(r.Tightened) > 0
	return r
}

func dedupe(fs []Finding) []Finding {
	seen := map[string]bool{}
	var out []Finding
	for _, f := range fs {
		k := f.Path + "\x00" + f.Message
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Path < out[b].Path })
	return out
}

type differ struct {
	old, new              *Schema
	tight, loose, unknown []Finding
	seen                  map[[2]*jsonschema.Schema]bool
	noShortcut            bool
	g                     *gen
}

// embed places a value at the location being compared, inside a root
// instance that is valid elsewhere (for the old schema, or the new one).
type embed func(any) any

// ptr is the JSON pointer of a compiled schema inside its document.
func ptr(s *jsonschema.Schema) string {
	if s == nil {
		return ""
	}
	_, frag, _ := strings.Cut(s.Location, "#")
	if u, err := url.PathUnescape(frag); err == nil {
		return u
	}
	return frag
}

// tightened records a tightening if one of cands, placed by eo, is
// accepted by the old schema and rejected by the new; otherwise an unknown.
func (d *differ) tightened(n *jsonschema.Schema, kw, msg string, eo embed, cands []any) bool {
	return d.witness(n, kw, msg, eo, cands, d.old, d.new, &d.tight, "may reject instances the old schema accepted")
}

// loosened records a loosening if one of cands, placed by en, is accepted
// by the new schema and rejected by the old.
func (d *differ) loosened(n *jsonschema.Schema, kw, msg string, en embed, cands []any) bool {
	return d.witness(n, kw, msg, en, cands, d.new, d.old, &d.loose, "may accept instances the old schema rejected")
}

// witness records a finding, in into, with the first candidate (placed by
// place) that the accepts schema validates and the rejects schema does
// not; without one, the change is undecided.
func (d *differ) witness(n *jsonschema.Schema, kw, msg string, place embed, cands []any, accepts, rejects *Schema, into *[]Finding, maybe string) bool {
	for _, c := range cands {
		root := place(c)
		if accepts.Validate(root) == nil && rejects.Validate(root) != nil {
			*into = append(*into, Finding{Path: ptr(n) + "/" + kw, Message: msg, Witness: root})
			return true
		}
	}
	d.unknown = append(d.unknown, Finding{Path: ptr(n) + "/" + kw, Message: msg + " (" + maybe + "; no example found)"})
	return false
}

func (d *differ) undecided(n *jsonschema.Schema, kw, msg string) {
	d.unknown = append(d.unknown, Finding{Path: ptr(n) + "/" + kw, Message: msg})
}

// deref follows a $ref that stands alone.
func deref(s *jsonschema.Schema) *jsonschema.Schema {
	for i := 0; s != nil && s.Ref != nil && onlyRef(s) && i < 32; i++ {
		s = s.Ref
	}
	return s
}

func onlyRef(s *jsonschema.Schema) bool {
	return s.Types == nil && s.Enum == nil && s.Const == nil && s.Not == nil && len(s.AllOf)+len(s.AnyOf)+len(s.OneOf) == 0 &&
		len(s.Properties) == 0 && s.AdditionalProperties == nil && len(s.PatternProperties) == 0 && len(s.Required) == 0 &&
		s.Items == nil && s.Items2020 == nil && len(s.PrefixItems) == 0 && s.Format == nil && s.Pattern == nil &&
		s.MinLength == nil && s.MaxLength == nil && s.MinItems == nil && s.MaxItems == nil && s.MinProperties == nil &&
		s.MaxProperties == nil && s.Minimum == nil && s.Maximum == nil && s.ExclusiveMinimum == nil && s.ExclusiveMaximum == nil &&
		s.MultipleOf == nil && !s.UniqueItems && s.If == nil && s.Contains == nil && s.PropertyNames == nil
}

// canon is a schema node's JSON without annotations, for equality.
func canon(doc any, pointer string) string {
	v := lookup(doc, pointer)
	b, _ := json.Marshal(strip(v))
	return string(b)
}

var annotations = map[string]bool{"title": true, "description": true, "$comment": true, "examples": true,
	"default": true, "deprecated": true, "readOnly": true, "writeOnly": true, "$id": true, "$schema": true}

func strip(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := map[string]any{}
		for k, x := range v {
			if !annotations[k] {
				m[k] = strip(x)
			}
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = strip(x)
		}
		return a
	}
	return v
}

func lookup(doc any, pointer string) any {
	if pointer == "" {
		return doc
	}
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			cur = c[tok]
		case []any:
			var i int
			if _, err := fmt.Sscan(tok, &i); err != nil || i < 0 || i >= len(c) {
				return nil
			}
			cur = c[i]
		default:
			return nil
		}
	}
	return cur
}

// same reports whether two schema nodes are written the same way.
func (d *differ) same(o, n *jsonschema.Schema) bool {
	return canon(d.old.Doc, ptr(o)) == canon(d.new.Doc, ptr(n)) && !hasRef(d.old.Doc, ptr(o))
}

// hasRef reports whether a node contains a $ref: equal text may then
// still point at different definitions.
func hasRef(doc any, pointer string) bool {
	return strings.Contains(canon(doc, pointer), `"$ref"`) || strings.Contains(canon(doc, pointer), `"$dynamicRef"`)
}

func typeSet(s *jsonschema.Schema) map[string]bool {
	set := map[string]bool{}
	ts := []string{"null", "boolean", "number", "integer", "string", "array", "object"}
	if s.Types != nil {
		ts = s.Types.ToStrings()
	}
	for _, t := range ts {
		set[t] = true
	}
	if set["number"] {
		set["integer"] = true
	}
	return set
}

func (d *differ) compare(o, n *jsonschema.Schema, eo, en embed) {
	o, n = deref(o), deref(n)
	if o == nil || n == nil {
		return
	}
	key := [2]*jsonschema.Schema{o, n}
	if d.seen[key] {
		return
	}
	d.seen[key] = true
	if !d.noShortcut && d.same(o, n) {
		return
	}
	if o.Bool != nil || n.Bool != nil {
		d.compareBool(o, n, eo, en)
		return
	}
	d.compareTypes(o, n, eo, en)
	d.compareEnum(o, n, eo, en)
	ot, nt := typeSet(o), typeSet(n)
	if ot["object"] && nt["object"] {
		d.compareObject(o, n, eo, en)
	}
	if ot["array"] && nt["array"] {
		d.compareArray(o, n, eo, en)
	}
	if ot["string"] && nt["string"] {
		d.compareString(o, n, eo, en)
	}
	if (ot["number"] || ot["integer"]) && (nt["number"] || nt["integer"]) {
		d.compareNumber(o, n, eo, en)
	}
	d.compareComposition(o, n, eo, en)
}

func (d *differ) compareBool(o, n *jsonschema.Schema, eo, en embed) {
	ob := o.Bool == nil || *o.Bool
	nb := n.Bool == nil || *n.Bool
	switch {
	case o.Bool != nil && n.Bool != nil && ob == nb:
	case ob && (n.Bool != nil && !nb):
		d.tightened(n, "", "no value is allowed here any more", eo, d.g.candidates(o, "", 0))
	case (o.Bool != nil && !ob) && nb:
		d.loosened(n, "", "values are allowed here now", en, d.g.candidates(n, "", 0))
	case o.Bool != nil && ob:
		// true → a schema: the schema's own constraints tighten.
		d.compareTypes(o, n, eo, en)
		d.tightened(n, "", "constraints were added where any value was allowed", eo, anyValues())
	case n.Bool != nil && nb:
		d.loosened(n, "", "constraints were removed: any value is allowed", en, anyValues())
	}
}

func anyValues() []any {
	return []any{nil, true, json.Number("0"), json.Number("0.5"), "", "x", []any{}, []any{nil}, map[string]any{}, map[string]any{"a": nil}}
}

func (d *differ) compareTypes(o, n *jsonschema.Schema, eo, en embed) {
	ot, nt := typeSet(o), typeSet(n)
	var removed, added []string
	var rc, ac []any
	for _, t := range []string{"object", "string", "integer", "number", "boolean", "array", "null"} {
		if ot[t] && !nt[t] {
			removed = append(removed, t)
			if t == "number" {
				rc = append(rc, json.Number("0.5"), json.Number("1.5"))
			}
			rc = append(rc, d.g.candidates(o, t, 0)...)
		}
		if nt[t] && !ot[t] {
			added = append(added, t)
			if t == "number" {
				ac = append(ac, json.Number("0.5"), json.Number("1.5"))
			}
			ac = append(ac, d.g.candidates(n, t, 0)...)
		}
	}
	if len(removed) > 0 {
		d.tightened(n, "type", fmt.Sprintf("%s no longer allowed (now %s)", typeList(removed), typeList(allowed(nt))), eo, rc)
	}
	if len(added) > 0 {
		d.loosened(n, "type", fmt.Sprintf("%s allowed now (was %s)", typeList(added), typeList(allowed(ot))), en, ac)
	}
}

func allowed(set map[string]bool) []string {
	var out []string
	for _, t := range []string{"object", "string", "integer", "number", "boolean", "array", "null"} {
		if set[t] && !(t == "integer" && set["number"]) {
			out = append(out, t)
		}
	}
	if len(out) == 6 {
		return []string{"any type"}
	}
	return out
}

func typeList(ts []string) string {
	if len(ts) == 1 {
		if ts[0] == "any type" {
			return ts[0]
		}
		return "type " + ts[0]
	}
	return "types " + strings.Join(ts, ", ")
}

// anySchema is the schema that accepts everything, standing for a
// subschema that is absent at pointer.
func anySchema(pointer string) *jsonschema.Schema { return &jsonschema.Schema{Location: "#" + pointer} }

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func values(s *jsonschema.Schema) ([]any, bool) {
	switch {
	case s.Const != nil:
		return []any{*s.Const}, true
	case s.Enum != nil:
		return s.Enum.Values, true
	}
	return nil, false
}

func (d *differ) compareEnum(o, n *jsonschema.Schema, eo, en embed) {
	ov, oHas := values(o)
	nv, nHas := values(n)
	if !oHas && !nHas {
		return
	}
	in := func(v any, set []any) bool {
		for _, x := range set {
			if jsonText(x) == jsonText(v) {
				return true
			}
		}
		return false
	}
	kw := "enum"
	if n.Const != nil || (n.Enum == nil && o.Const != nil) {
		kw = "const"
	}
	switch {
	case oHas && nHas:
		for _, v := range ov {
			if !in(v, nv) {
				d.tightened(n, kw, fmt.Sprintf("value %s is no longer allowed", jsonText(v)), eo, []any{v})
			}
		}
		for _, v := range nv {
			if !in(v, ov) {
				d.loosened(n, kw, fmt.Sprintf("value %s is allowed now", jsonText(v)), en, []any{v})
			}
		}
	case nHas:
		var cands []any
		for _, c := range d.g.candidates(o, "", 0) {
			if !in(c, nv) {
				cands = append(cands, c)
			}
		}
		d.tightened(n, kw, "values are restricted to "+jsonText(nv), eo, cands)
	case oHas:
		var cands []any
		for _, c := range d.g.candidates(n, "", 0) {
			if !in(c, ov) {
				cands = append(cands, c)
			}
		}
		d.loosened(n, kw, "values are no longer restricted to "+jsonText(ov), en, cands)
	}
}

// baseObject returns an object valid under s, to place a property in.
func (d *differ) baseObject(s *jsonschema.Schema) map[string]any {
	if v, ok := d.g.exampleOfType(s, "object"); ok {
		return v.(map[string]any)
	}
	return map[string]any{}
}

func withProp(e embed, base map[string]any, name string) embed {
	return func(v any) any {
		obj := clone(base).(map[string]any)
		obj[name] = v
		return e(obj)
	}
}

func withoutProp(e embed, base map[string]any, name string) []any {
	obj := clone(base).(map[string]any)
	delete(obj, name)
	return []any{obj}
}

// propertySchema is the schema a property name gets in an object schema:
// its own, a matching pattern's, or the additional properties' (nil: any).
func propertySchema(s *jsonschema.Schema, name string) (sub *jsonschema.Schema, allowed bool) {
	if p, ok := s.Properties[name]; ok {
		return p, true
	}
	for re, p := range s.PatternProperties {
		if re.MatchString(name) {
			return p, true
		}
	}
	switch a := s.AdditionalProperties.(type) {
	case bool:
		return nil, a
	case *jsonschema.Schema:
		return a, true
	}
	return nil, true
}

func (d *differ) compareObject(o, n *jsonschema.Schema, eo, en embed) {
	ob, nb := d.baseObject(o), d.baseObject(n)
	// required
	for _, r := range n.Required {
		if !slices.Contains(o.Required, r) {
			d.tightened(n, "required", fmt.Sprintf("property %q is required now", r), eo, withoutProp(func(v any) any { return v }, ob, r))
		}
	}
	for _, r := range o.Required {
		if !slices.Contains(n.Required, r) {
			d.loosened(n, "required", fmt.Sprintf("property %q is no longer required", r), en, withoutProp(func(v any) any { return v }, nb, r))
		}
	}
	// properties, by name
	names := map[string]bool{}
	for k := range o.Properties {
		names[k] = true
	}
	for k := range n.Properties {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, name := range sorted {
		d.compareProperty(o, n, name, "properties/"+escape(name), ob, nb, eo, en)
	}
	// additional properties: a name no property or pattern of either matches
	// A name that patternProperties cover in both schemas never reaches
	// additionalProperties: then there is nothing to compare.
	for i := 0; i < 50; i++ {
		extra := "extraProperty"
		if i > 0 {
			extra = fmt.Sprintf("extraProperty%d", i)
		}
		_, po := o.Properties[extra]
		_, pn := n.Properties[extra]
		if !po && !pn && !matchesPattern(o, extra) && !matchesPattern(n, extra) {
			d.compareProperty(o, n, extra, "additionalProperties", ob, nb, eo, en)
			break
		}
	}
	if !samePatterns(o, n) {
		d.undecided(n, "patternProperties", "patternProperties changed: which property names and values are accepted could not be decided")
	} else {
		// The same patterns: compare their schemas on a name each matches.
		for ore, os := range o.PatternProperties {
			for nre, ns := range n.PatternProperties {
				if ore.String() != nre.String() {
					continue
				}
				for _, name := range fromPattern(ore.String(), 8) {
					_, po := o.Properties[name]
					_, pn := n.Properties[name]
					if !po && !pn && ore.MatchString(name) {
						d.compare(os, ns, withProp(eo, ob, name), withProp(en, nb, name))
						break
					}
				}
			}
		}
	}
	d.compareCount(o.MinProperties, o.MaxProperties, n.MinProperties, n.MaxProperties, n, "Properties", "properties",
		func(k int, s *jsonschema.Schema) []any { return []any{d.resizeObject(d.baseObject(s), k, s)} }, o, eo, en)
	for _, kw := range []struct {
		name string
		set  func(*jsonschema.Schema) bool
	}{
		{"propertyNames", func(s *jsonschema.Schema) bool { return s.PropertyNames != nil }},
		{"dependentRequired", func(s *jsonschema.Schema) bool { return len(s.DependentRequired) > 0 || len(s.Dependencies) > 0 }},
		{"dependentSchemas", func(s *jsonschema.Schema) bool { return len(s.DependentSchemas) > 0 }},
		{"unevaluatedProperties", func(s *jsonschema.Schema) bool { return s.UnevaluatedProperties != nil }},
	} {
		if (kw.set(o) || kw.set(n)) && canon(d.old.Doc, ptr(o)+"/"+kw.name) != canon(d.new.Doc, ptr(n)+"/"+kw.name) {
			d.undecided(n, kw.name, kw.name+" changed: its effect could not be decided")
		}
	}
}

func escape(name string) string {
	return strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
}

func matchesPattern(s *jsonschema.Schema, name string) bool {
	for re := range s.PatternProperties {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

func samePatterns(o, n *jsonschema.Schema) bool {
	key := func(s *jsonschema.Schema) []string {
		var k []string
		for re := range s.PatternProperties {
			k = append(k, re.String())
		}
		sort.Strings(k)
		return k
	}
	return slices.Equal(key(o), key(n))
}

// compareProperty compares what the two schemas accept for one property name.
func (d *differ) compareProperty(o, n *jsonschema.Schema, name, kw string, ob, nb map[string]any, eo, en embed) {
	os, oAllowed := propertySchema(o, name)
	ns, nAllowed := propertySchema(n, name)
	peo, pen := withProp(eo, ob, name), withProp(en, nb, name)
	switch {
	case !oAllowed && !nAllowed:
	case oAllowed && !nAllowed:
		cands := []any{"x", json.Number("1"), true, nil, map[string]any{}}
		if os != nil {
			cands = append(d.g.candidates(os, "", 0), cands...)
		}
		msg := fmt.Sprintf("property %q is no longer allowed", name)
		if kw == "additionalProperties" {
			msg = "properties other than the listed ones are no longer allowed"
		}
		d.tightened(n, kw, msg, peo, cands)
	case !oAllowed && nAllowed:
		cands := []any{"x", json.Number("1"), true, nil, map[string]any{}}
		if ns != nil {
			cands = append(d.g.candidates(ns, "", 0), cands...)
		}
		msg := fmt.Sprintf("property %q is allowed now", name)
		if kw == "additionalProperties" {
			msg = "properties other than the listed ones are allowed now"
		}
		d.loosened(n, kw, msg, pen, cands)
	case os == nil && ns == nil:
	case os == nil:
		d.compare(anySchema(ptr(o)+"/"+kw), ns, peo, pen)
	case ns == nil:
		d.compare(os, anySchema(ptr(n)+"/"+kw), peo, pen)
	default:
		d.compare(os, ns, peo, pen)
	}
}

// resizeObject adds or removes optional properties to reach k.
func (d *differ) resizeObject(obj map[string]any, k int, s *jsonschema.Schema) map[string]any {
	obj = clone(obj).(map[string]any)
	keys := make([]string, 0, len(obj))
	for key := range obj {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if len(obj) <= k {
			break
		}
		if !slices.Contains(s.Required, key) {
			delete(obj, key)
		}
	}
	for i := 0; len(obj) < k && i < 1000; i++ {
		name := fmt.Sprintf("extra%d", i)
		if _, ok := obj[name]; ok {
			continue
		}
		ps, allowed := propertySchema(s, name)
		if !allowed {
			break
		}
		v := any("x")
		if ps != nil {
			if e, ok := d.g.example(ps); ok {
				v = e
			}
		}
		obj[name] = v
	}
	return obj
}

// compareCount compares min/max bounds of a count (items, properties,
// length). make builds a candidate of size k from a schema.
func (d *differ) compareCount(omin, omax, nmin, nmax *int, n *jsonschema.Schema, suffix, what string,
	make func(int, *jsonschema.Schema) []any, o *jsonschema.Schema, eo, en embed) {
	lo := func(p *int) int {
		if p == nil {
			return 0
		}
		return *p
	}
	hi := func(p *int) int {
		if p == nil {
			return -1
		}
		return *p
	}
	if lo(nmin) > lo(omin) {
		var cands []any
		for k := lo(omin); k < lo(nmin) && len(cands) < 10; k++ {
			cands = append(cands, make(k, o)...)
		}
		d.tightened(n, "min"+suffix, fmt.Sprintf("at least %d %s now (was %d)", lo(nmin), what, lo(omin)), eo, cands)
	}
	if lo(nmin) < lo(omin) {
		var cands []any
		for k := lo(omin) - 1; k >= lo(nmin) && len(cands) < 10; k-- {
			cands = append(cands, make(k, n)...)
		}
		d.loosened(n, "min"+suffix, fmt.Sprintf("at least %d %s now (was %d)", lo(nmin), what, lo(omin)), en, cands)
	}
	if hi(nmax) >= 0 && (hi(omax) < 0 || hi(nmax) < hi(omax)) {
		var cands []any
		top := hi(omax)
		if top < 0 {
			top = hi(nmax) + 3
		}
		for k := hi(nmax) + 1; k <= top && len(cands) < 10; k++ {
			cands = append(cands, make(k, o)...)
		}
		d.tightened(n, "max"+suffix, fmt.Sprintf("at most %d %s now (was %s)", hi(nmax), what, bound(omax)), eo, cands)
	}
	if hi(omax) >= 0 && (hi(nmax) < 0 || hi(nmax) > hi(omax)) {
		var cands []any
		top := hi(nmax)
		if top < 0 {
			top = hi(omax) + 3
		}
		for k := hi(omax) + 1; k <= top && len(cands) < 10; k++ {
			cands = append(cands, make(k, n)...)
		}
		d.loosened(n, "max"+suffix, fmt.Sprintf("at most %s %s now (was %d)", bound(nmax), what, hi(omax)), en, cands)
	}
}

func bound(p *int) string {
	if p == nil {
		return "any number of"
	}
	return fmt.Sprint(*p)
}

func (d *differ) compareArray(o, n *jsonschema.Schema, eo, en embed) {
	oi, ni := itemSchema(o), itemSchema(n)
	item := func(s *jsonschema.Schema) any {
		if it := itemSchema(s); it != nil {
			if v, ok := d.g.example(it); ok {
				return v
			}
		}
		return "x"
	}
	place := func(e embed, s *jsonschema.Schema) embed {
		return func(v any) any {
			arr := []any{}
			for _, p := range s.PrefixItems {
				if x, ok := d.g.example(p); ok {
					arr = append(arr, x)
				}
			}
			arr = append(arr, v)
			for s.MinItems != nil && len(arr) < *s.MinItems {
				arr = append(arr, distinct([]any{item(s)}, len(arr)))
			}
			return e(arr)
		}
	}
	if len(o.PrefixItems) == len(n.PrefixItems) {
		for i := range o.PrefixItems {
			idx := i
			pe := func(e embed, s *jsonschema.Schema) embed {
				return func(v any) any {
					arr := []any{}
					for j, p := range s.PrefixItems {
						if j == idx {
							arr = append(arr, v)
						} else if x, ok := d.g.example(p); ok {
							arr = append(arr, x)
						}
					}
					return e(arr)
				}
			}
			d.compare(o.PrefixItems[i], n.PrefixItems[i], pe(eo, o), pe(en, n))
		}
	} else {
		d.undecided(n, "prefixItems", "prefixItems changed length: could not be decided")
	}
	switch {
	case oi != nil && ni != nil:
		d.compare(oi, ni, place(eo, o), place(en, n))
	case oi == nil && ni != nil:
		d.compare(anySchema(ptr(o)+"/items"), ni, place(eo, o), place(en, n))
	case oi != nil && ni == nil:
		d.compare(oi, anySchema(ptr(n)+"/items"), place(eo, o), place(en, n))
	}
	d.compareCount(o.MinItems, o.MaxItems, n.MinItems, n.MaxItems, n, "Items", "items",
		func(k int, s *jsonschema.Schema) []any {
			arr := []any{}
			for i := 0; i < k; i++ {
				arr = append(arr, distinct([]any{item(s)}, i))
			}
			return []any{arr}
		}, o, eo, en)
	if n.UniqueItems && !o.UniqueItems {
		x := item(o)
		d.tightened(n, "uniqueItems", "array items must be unique now", eo, []any{[]any{x, clone(x)}, []any{"x", "x"}, []any{json.Number("1"), json.Number("1")}})
	}
	if o.UniqueItems && !n.UniqueItems {
		x := item(n)
		d.loosened(n, "uniqueItems", "array items no longer need to be unique", en, []any{[]any{x, clone(x)}, []any{"x", "x"}, []any{json.Number("1"), json.Number("1")}})
	}
	for _, kw := range []string{"contains", "minContains", "maxContains", "unevaluatedItems", "additionalItems"} {
		if canon(d.old.Doc, ptr(o)+"/"+kw) != canon(d.new.Doc, ptr(n)+"/"+kw) {
			d.undecided(n, kw, kw+" changed: its effect could not be decided")
		}
	}
}

func (d *differ) compareString(o, n *jsonschema.Schema, eo, en embed) {
	str := func(k int, s *jsonschema.Schema) []any {
		var out []any
		for _, c := range d.g.strs(s) {
			if str, ok := c.(string); ok {
				r := []rune(str)
				switch {
				case len(r) == k:
					out = append(out, str)
				case len(r) > k:
					out = append(out, string(r[:k]))
				default:
					out = append(out, str+strings.Repeat("a", k-len(r)))
				}
			}
		}
		return append(out, strings.Repeat("a", k))
	}
	d.compareCount(o.MinLength, o.MaxLength, n.MinLength, n.MaxLength, n, "Length", "characters", str, o, eo, en)
	op, np := "", ""
	if o.Pattern != nil {
		op = o.Pattern.String()
	}
	if n.Pattern != nil {
		np = n.Pattern.String()
	}
	if op != np {
		oc := append(stringsOf(fromPattern(op, 24)), d.g.strs(o)...)
		nc := append(stringsOf(fromPattern(np, 24)), d.g.strs(n)...)
		for _, c := range anyValues() {
			if _, ok := c.(string); ok {
				oc, nc = append(oc, c), append(nc, c)
			}
		}
		before := len(d.unknown)
		t := d.tightened(n, "pattern", fmt.Sprintf("pattern changed from %q to %q", op, np), eo, oc)
		l := d.loosened(n, "pattern", fmt.Sprintf("pattern changed from %q to %q", op, np), en, nc)
		// Unknown only when neither direction is shown: a pattern change
		// found in one direction is usually the whole story.
		d.unknown = d.unknown[:before]
		if !t && !l {
			d.undecided(n, "pattern", fmt.Sprintf("pattern changed from %q to %q: no example found either way", op, np))
		}
	}
	of, nf := formatName(o), formatName(n)
	if of != nf {
		bad := []any{"x", "not a " + nf, "2026-13-45", "999.1.1.1", "a b", ""}
		if nf != "" {
			d.tightened(n, "format", fmt.Sprintf("format %q is required now (was %q)", nf, of), eo, append(d.g.strs(o), bad...))
		}
		if of != "" {
			d.loosened(n, "format", fmt.Sprintf("format %q is no longer required (now %q)", of, nf), en, append(d.g.strs(n), "x", "not a "+of, "2026-13-45", "a b", ""))
		}
	}
}

func stringsOf(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func formatName(s *jsonschema.Schema) string {
	if s.Format == nil {
		return ""
	}
	return s.Format.Name
}

// interval is a number range with open or closed ends; nil ends are unbounded.
type interval struct {
	lo, hi         *big.Rat
	loOpen, hiOpen bool
}

func bounds(s *jsonschema.Schema) interval {
	var iv interval
	if s.Minimum != nil {
		iv.lo = s.Minimum
	}
	if s.ExclusiveMinimum != nil && (iv.lo == nil || s.ExclusiveMinimum.Cmp(iv.lo) >= 0) {
		iv.lo, iv.loOpen = s.ExclusiveMinimum, true
	}
	if s.Maximum != nil {
		iv.hi = s.Maximum
	}
	if s.ExclusiveMaximum != nil && (iv.hi == nil || s.ExclusiveMaximum.Cmp(iv.hi) <= 0) {
		iv.hi, iv.hiOpen = s.ExclusiveMaximum, true
	}
	return iv
}

func ratText(r *big.Rat, open bool, lower bool) string {
	if r == nil {
		return "none"
	}
	op := ">="
	if lower && open {
		op = ">"
	}
	if !lower {
		op = "<="
		if open {
			op = "<"
		}
	}
	return op + " " + string(ratNum(r))
}

func (d *differ) compareNumber(o, n *jsonschema.Schema, eo, en embed) {
	oi, ni := bounds(o), bounds(n)
	near := func(rs ...*big.Rat) []any {
		var out []any
		seen := map[string]bool{}
		for _, r := range rs {
			if r == nil {
				continue
			}
			for _, delta := range []*big.Rat{new(big.Rat), big.NewRat(1, 2), big.NewRat(-1, 2), big.NewRat(1, 1), big.NewRat(-1, 1), big.NewRat(1, 1000), big.NewRat(-1, 1000)} {
				v := ratNum(new(big.Rat).Add(r, delta))
				if !seen[string(v)] {
					seen[string(v)] = true
					out = append(out, v)
				}
			}
		}
		if len(rs) >= 2 && rs[0] != nil && rs[1] != nil {
			out = append(out, ratNum(new(big.Rat).Quo(new(big.Rat).Add(rs[0], rs[1]), big.NewRat(2, 1))))
		}
		return out
	}
	lowerTighter := func(a, b interval) bool { // b's lower bound excludes more than a's
		if b.lo == nil {
			return false
		}
		if a.lo == nil {
			return true
		}
		c := b.lo.Cmp(a.lo)
		return c > 0 || c == 0 && b.loOpen && !a.loOpen
	}
	upperTighter := func(a, b interval) bool {
		if b.hi == nil {
			return false
		}
		if a.hi == nil {
			return true
		}
		c := b.hi.Cmp(a.hi)
		return c < 0 || c == 0 && b.hiOpen && !a.hiOpen
	}
	big100 := big.NewRat(100, 1)
	lowOf := func(iv interval, other *big.Rat) *big.Rat {
		if iv.lo != nil {
			return iv.lo
		}
		if other != nil {
			return new(big.Rat).Sub(other, big100)
		}
		return nil
	}
	highOf := func(iv interval, other *big.Rat) *big.Rat {
		if iv.hi != nil {
			return iv.hi
		}
		if other != nil {
			return new(big.Rat).Add(other, big100)
		}
		return nil
	}
	if lowerTighter(oi, ni) {
		d.tightened(n, "minimum", fmt.Sprintf("lower bound is %s now (was %s)", ratText(ni.lo, ni.loOpen, true), ratText(oi.lo, oi.loOpen, true)), eo, near(lowOf(oi, ni.lo), ni.lo))
	}
	if lowerTighter(ni, oi) {
		d.loosened(n, "minimum", fmt.Sprintf("lower bound is %s now (was %s)", ratText(ni.lo, ni.loOpen, true), ratText(oi.lo, oi.loOpen, true)), en, near(lowOf(ni, oi.lo), oi.lo))
	}
	if upperTighter(oi, ni) {
		d.tightened(n, "maximum", fmt.Sprintf("upper bound is %s now (was %s)", ratText(ni.hi, ni.hiOpen, false), ratText(oi.hi, oi.hiOpen, false)), eo, near(ni.hi, highOf(oi, ni.hi)))
	}
	if upperTighter(ni, oi) {
		d.loosened(n, "maximum", fmt.Sprintf("upper bound is %s now (was %s)", ratText(ni.hi, ni.hiOpen, false), ratText(oi.hi, oi.hiOpen, false)), en, near(oi.hi, highOf(ni, oi.hi)))
	}
	om, nm := o.MultipleOf, n.MultipleOf
	multiples := func(m *big.Rat, s *jsonschema.Schema) []any {
		if m == nil {
			m = big.NewRat(1, 2)
		}
		var out []any
		start := new(big.Rat)
		if lo := lower(s); lo != nil {
			q := new(big.Rat).Quo(lo, m)
			start.Mul(new(big.Rat).SetInt(new(big.Int).Quo(q.Num(), q.Denom())), m)
		}
		for k := int64(0); k <= 40; k++ {
			out = append(out, ratNum(new(big.Rat).Add(start, new(big.Rat).Mul(m, big.NewRat(k, 1)))))
		}
		return out
	}
	if nm != nil && (om == nil || new(big.Rat).Quo(om, nm).IsInt() == false) {
		d.tightened(n, "multipleOf", fmt.Sprintf("values must be multiples of %s now", ratNum(nm)), eo, multiples(om, o))
	}
	if om != nil && (nm == nil || new(big.Rat).Quo(nm, om).IsInt() == false) {
		d.loosened(n, "multipleOf", fmt.Sprintf("values no longer need to be multiples of %s", ratNum(om)), en, multiples(nm, n))
	}
}

func (d *differ) compareComposition(o, n *jsonschema.Schema, eo, en embed) {
	if o.Ref != nil && n.Ref != nil {
		d.compare(o.Ref, n.Ref, eo, en)
	} else if (o.Ref == nil) != (n.Ref == nil) {
		d.undecided(n, "$ref", "$ref added or removed next to other keywords: could not be decided")
	}
	if len(o.AllOf) == len(n.AllOf) {
		for i := range o.AllOf {
			d.compare(o.AllOf[i], n.AllOf[i], eo, en)
		}
	} else {
		d.undecided(n, "allOf", "allOf changed its number of subschemas: could not be decided")
	}
	for _, kw := range []struct {
		name string
		o, n []*jsonschema.Schema
	}{{"anyOf", o.AnyOf, n.AnyOf}, {"oneOf", o.OneOf, n.OneOf}} {
		d.compareBranches(kw.name, kw.o, kw.n, o, n, eo, en)
	}
	switch {
	case o.Not == nil && n.Not == nil:
	case o.Not != nil && n.Not != nil && canon(d.old.Doc, ptr(o.Not)) == canon(d.new.Doc, ptr(n.Not)):
	default:
		var tc, lc []any
		if n.Not != nil {
			tc = append(tc, d.g.candidates(n.Not, "", 0)...)
		}
		if o.Not != nil {
			lc = append(lc, d.g.candidates(o.Not, "", 0)...)
		}
		tc, lc = append(tc, anyValues()...), append(lc, anyValues()...)
		before := len(d.unknown)
		t := d.tightened(n, "not", "not changed", eo, tc)
		l := d.loosened(n, "not", "not changed", en, lc)
		d.unknown = d.unknown[:before]
		if !t && !l {
			d.undecided(n, "not", "not changed: its effect could not be decided")
		}
	}
	for _, kw := range []string{"if", "then", "else", "$dynamicRef"} {
		if canon(d.old.Doc, ptr(o)+"/"+kw) != canon(d.new.Doc, ptr(n)+"/"+kw) {
			d.undecided(n, kw, kw+" changed: its effect could not be decided")
		}
	}
}

// compareBranches compares anyOf or oneOf branches: unchanged ones are
// matched by their text; a removed branch may reject what it accepted, an
// added one accept what was rejected; branches in the same position that
// changed are compared one with the other.
func (d *differ) compareBranches(kw string, ob, nb []*jsonschema.Schema, o, n *jsonschema.Schema, eo, en embed) {
	if len(ob) == 0 && len(nb) == 0 {
		return
	}
	text := func(doc any, s *jsonschema.Schema) string { return canon(doc, ptr(s)) }
	var removed, added []*jsonschema.Schema
	for _, x := range ob {
		if !slices.ContainsFunc(nb, func(y *jsonschema.Schema) bool {
			return text(d.new.Doc, y) == text(d.old.Doc, x) && !hasRef(d.old.Doc, ptr(x))
		}) {
			removed = append(removed, x)
		}
	}
	for _, y := range nb {
		if !slices.ContainsFunc(ob, func(x *jsonschema.Schema) bool {
			return text(d.new.Doc, y) == text(d.old.Doc, x) && !hasRef(d.old.Doc, ptr(x))
		}) {
			added = append(added, y)
		}
	}
	if len(removed) == 0 && len(added) == 0 {
		return
	}
	if len(removed) == len(added) {
		// Changed in place: compare pairwise; the validator decides.
		for i := range removed {
			d.compare(removed[i], added[i], eo, en)
		}
		return
	}
	for _, x := range removed {
		d.tightened(n, kw, "a branch was removed", eo, d.g.candidates(x, "", 0))
	}
	for _, y := range added {
		d.loosened(n, kw, "a branch was added", en, d.g.candidates(y, "", 0))
	}
}
