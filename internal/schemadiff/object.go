package schemadiff

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Objects: required, properties, patternProperties, additionalProperties,
// property counts, propertyNames, dependencies and unevaluatedProperties.

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

func withoutProp(base map[string]any, name string) []any {
	obj := clone(base).(map[string]any)
	delete(obj, name)
	return []any{obj}
}

// inPlace places an instance of a subschema applied in place (allOf,
// anyOf, oneOf, $ref, then, else, dependentSchemas): an object gets the
// properties the parent s requires, from an example, where it lacks them.
func (d *differ) inPlace(e embed, s *jsonschema.Schema) embed {
	fill := d.filler(s)
	return func(v any) any { return e(fill(v)) }
}

// filler adds to an object the properties s requires, from an example,
// where it lacks them.
func (d *differ) filler(s *jsonschema.Schema) func(any) any {
	if len(s.Required) == 0 {
		return func(v any) any { return v }
	}
	base := d.baseObject(s)
	return func(v any) any {
		obj, ok := v.(map[string]any)
		if !ok {
			return v
		}
		obj = clone(obj).(map[string]any)
		for _, r := range s.Required {
			if x, ok := base[r]; ok {
				if _, has := obj[r]; !has {
					obj[r] = clone(x)
				}
			}
		}
		return obj
	}
}

// propertySchema is the schema a property name gets in an object schema:
// its own, a matching pattern's, or the additional properties' (nil: any).
func propertySchema(s *jsonschema.Schema, name string) (sub *jsonschema.Schema, allowed bool) {
	if p, ok := s.Properties[name]; ok {
		return p, true
	}
	for _, t := range patternsByText(s).sorted() {
		for re, p := range s.PatternProperties {
			if re.String() == t && re.MatchString(name) {
				return p, true
			}
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
	for _, r := range n.Required {
		if !slices.Contains(o.Required, r) {
			d.tightened(n, "required", fmt.Sprintf("property %q is required now", r), eo, withoutProp(ob, r))
		}
	}
	for _, r := range o.Required {
		if !slices.Contains(n.Required, r) {
			d.loosened(n, "required", fmt.Sprintf("property %q is no longer required", r), en, withoutProp(nb, r))
		}
	}
	names := map[string]bool{}
	for k := range o.Properties {
		names[k] = true
	}
	for k := range n.Properties {
		names[k] = true
	}
	sorted := keys(names)
	sort.Strings(sorted)
	for _, name := range sorted {
		d.compareProperty(o, n, name, "properties/"+escape(name), ob, nb, eo, en)
	}
	d.compareAdditional(o, n, ob, nb, eo, en)
	d.comparePatternProperties(o, n, ob, nb, eo, en)
	d.compareCount(o.MinProperties, o.MaxProperties, n.MinProperties, n.MaxProperties, n, "Properties", "properties",
		func(k int, s *jsonschema.Schema) []any { return []any{d.resizeObject(d.baseObject(s), k, s)} }, o, eo, en)
	if o.PropertyNames != nil || n.PropertyNames != nil {
		d.compare(d.orAny(o.PropertyNames, ptr(o)+"/propertyNames"), d.orAny(n.PropertyNames, ptr(n)+"/propertyNames"),
			d.withName(eo, ob, o), d.withName(en, nb, n))
	}
	d.compareDependencies(o, n, ob, nb, eo, en)
	d.compareUnevaluatedProperties(o, n, ob, nb, eo, en)
}

func escape(name string) string {
	return strings.ReplaceAll(strings.ReplaceAll(name, "~", "~0"), "/", "~1")
}

// declared reports whether a property name is listed in properties or
// matches a pattern of s.
func declared(s *jsonschema.Schema, name string) bool {
	if _, ok := s.Properties[name]; ok {
		return true
	}
	for re := range s.PatternProperties {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

// extraNames are names tried for a property no keyword lists.
func extraNames() []string {
	out := []string{"extraProperty", "x", "_", "0", "~", "Z", "-", " "}
	for i := 1; i < 40; i++ {
		out = append(out, fmt.Sprintf("extraProperty%d", i))
	}
	return out
}

// extraName is a property name neither schema lists or matches.
func extraName(o, n *jsonschema.Schema) (string, bool) {
	for _, name := range extraNames() {
		if !declared(o, name) && !declared(n, name) {
			return name, true
		}
	}
	return "", false
}

// compareAdditional compares additionalProperties on a name that neither
// schema lists or matches with a pattern.
func (d *differ) compareAdditional(o, n *jsonschema.Schema, ob, nb map[string]any, eo, en embed) {
	if name, ok := extraName(o, n); ok {
		d.compareProperty(o, n, name, "additionalProperties", ob, nb, eo, en)
		return
	}
	if !d.eqAdditional(o.AdditionalProperties, n.AdditionalProperties) {
		d.undecide(n, "additionalProperties", "additionalProperties changed, and every property name tried is matched by properties or patternProperties: its effect could not be decided")
	}
}

func (d *differ) eqAdditional(a, b any) bool {
	switch a := a.(type) {
	case nil:
		return b == nil
	case bool:
		bb, ok := b.(bool)
		return ok && a == bb
	case *jsonschema.Schema:
		bs, ok := b.(*jsonschema.Schema)
		return ok && d.eq(a, bs)
	}
	return false
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
	default:
		d.compare(d.orAny(os, ptr(o)+"/"+kw), d.orAny(ns, ptr(n)+"/"+kw), peo, pen)
	}
}

// nameValue is a candidate property: a name and its value.
type nameValue struct {
	name  string
	value any
}

func placeNamed(e embed, base map[string]any) embed {
	return func(c any) any {
		nv := c.(nameValue)
		return withProp(e, base, nv.name)(nv.value)
	}
}

// namesFor proposes property names a pattern matches.
func namesFor(re jsonschema.Regexp) []string {
	var out []string
	for _, name := range append(fromPattern(re.String(), 8), re.String()) {
		if re.MatchString(name) {
			out = append(out, name)
		}
	}
	return out
}

func patternRegexp(s *jsonschema.Schema, text string) jsonschema.Regexp {
	for re := range s.PatternProperties {
		if re.String() == text {
			return re
		}
	}
	return nil
}

// comparePatternProperties compares the schemas of patterns both have on a
// name the pattern matches. A pattern added or removed changes what names
// it matches must hold; whether other keywords covered those names before
// is not worked out: each direction is shown with a witness or undecided.
func (d *differ) comparePatternProperties(o, n *jsonschema.Schema, ob, nb map[string]any, eo, en embed) {
	op, np := patternsByText(o), patternsByText(n)
	for _, t := range op.sorted() {
		ns, ok := np[t]
		if !ok {
			continue
		}
		re := patternRegexp(o, t)
		name := t
		names := namesFor(re)
		for _, c := range names {
			if _, listed := o.Properties[c]; !listed {
				name = c
				break
			}
		}
		if name == t && len(names) > 0 {
			name = names[0]
		}
		d.compare(op[t], ns, withProp(eo, ob, name), withProp(en, nb, name))
	}
	plain := []any{"x", json.Number("1"), true, nil, map[string]any{}, []any{}}
	candidates := func(re jsonschema.Regexp, ss ...*jsonschema.Schema) []any {
		var out []any
		for _, name := range namesFor(re) {
			for _, s := range ss {
				for _, v := range d.g.candidates(s, "", 0) {
					out = append(out, nameValue{name, v})
				}
			}
			for _, v := range plain {
				out = append(out, nameValue{name, v})
			}
		}
		return out
	}
	for _, t := range np.sorted() {
		if _, ok := op[t]; ok {
			continue
		}
		re := patternRegexp(n, t)
		kw := "patternProperties/" + escape(t)
		if !acceptsAll(np[t]) {
			d.tightened(n, kw, fmt.Sprintf("properties matching %q must match its schema now", t), placeNamed(eo, ob), candidates(re, np[t]))
		}
		if !acceptsAllValue(o.AdditionalProperties) {
			// Names it matches no longer fall under additionalProperties.
			d.loosened(n, kw, fmt.Sprintf("properties matching %q no longer fall under additionalProperties", t), placeNamed(en, nb), candidates(re, np[t]))
		}
	}
	for _, t := range op.sorted() {
		if _, ok := np[t]; ok {
			continue
		}
		re := patternRegexp(o, t)
		listed := false
		for name := range n.Properties {
			listed = listed || re.MatchString(name)
		}
		if !acceptsAll(op[t]) && (listed || n.AdditionalProperties != false) {
			d.loosened(n, "patternProperties", fmt.Sprintf("properties matching %q no longer need to match its schema", t), placeNamed(en, nb), candidates(re, op[t]))
		}
		if !acceptsAllValue(n.AdditionalProperties) {
			d.tightened(n, "patternProperties", fmt.Sprintf("properties matching %q fall under additionalProperties now", t), placeNamed(eo, ob), candidates(re, op[t]))
		}
	}
}

// withName places a candidate property name (a string) in an object.
func (d *differ) withName(e embed, base map[string]any, s *jsonschema.Schema) embed {
	return func(v any) any {
		name, ok := v.(string)
		if !ok {
			return e(base)
		}
		obj := clone(base).(map[string]any)
		obj[name] = "x"
		if ps, _ := propertySchema(s, name); ps != nil {
			if ex, ok := d.g.example(ps); ok {
				obj[name] = ex
			}
		}
		return e(obj)
	}
}

// dependencies merges dependentRequired and dependentSchemas with draft 7's
// dependencies, which holds both.
func dependencies(s *jsonschema.Schema) (map[string][]string, map[string]*jsonschema.Schema) {
	req := map[string][]string{}
	sch := map[string]*jsonschema.Schema{}
	for k, v := range s.DependentRequired {
		req[k] = append(req[k], v...)
	}
	for k, v := range s.DependentSchemas {
		sch[k] = v
	}
	for k, v := range s.Dependencies {
		switch v := v.(type) {
		case []string:
			req[k] = append(req[k], v...)
		case *jsonschema.Schema:
			sch[k] = v
		}
	}
	return req, sch
}

func (d *differ) compareDependencies(o, n *jsonschema.Schema, ob, nb map[string]any, eo, en embed) {
	oreq, osch := dependencies(o)
	nreq, nsch := dependencies(n)
	kw := func(s *jsonschema.Schema, schemas bool) string {
		if s.DraftVersion < 2019 {
			return "dependencies"
		}
		if schemas {
			return "dependentSchemas"
		}
		return "dependentRequired"
	}
	// with is base with the trigger property and those it requires
	// present, and name absent.
	with := func(s *jsonschema.Schema, base map[string]any, trigger string, needs []string, name string) []any {
		obj := clone(base).(map[string]any)
		for _, p := range append([]string{trigger}, needs...) {
			if _, ok := obj[p]; !ok {
				obj[p] = "x"
				if ps, _ := propertySchema(s, p); ps != nil {
					if ex, ok := d.g.example(ps); ok {
						obj[p] = ex
					}
				}
			}
		}
		delete(obj, name)
		return []any{obj}
	}
	triggers := append(keys(oreq), keys(nreq)...)
	sort.Strings(triggers)
	for _, k := range slices.Compact(triggers) {
		for _, r := range nreq[k] {
			if !slices.Contains(oreq[k], r) {
				d.tightened(n, kw(n, false)+"/"+escape(k), fmt.Sprintf("property %q is required now when %q is present", r, k), eo, with(o, ob, k, oreq[k], r))
			}
		}
		for _, r := range oreq[k] {
			if !slices.Contains(nreq[k], r) {
				d.loosened(n, kw(n, false)+"/"+escape(k), fmt.Sprintf("property %q is no longer required when %q is present", r, k), en, with(n, nb, k, nreq[k], r))
			}
		}
	}
	triggers = append(keys(osch), keys(nsch)...)
	sort.Strings(triggers)
	for _, k := range slices.Compact(triggers) {
		p := "/" + kw(n, true) + "/" + escape(k)
		d.compare(d.orAny(osch[k], ptr(o)+p), d.orAny(nsch[k], ptr(n)+p), d.present(eo, o, ob, k), d.present(en, n, nb, k))
	}
}

// present places an object with the trigger property present, and what
// the parent requires, for a dependent schema.
func (d *differ) present(e embed, s *jsonschema.Schema, base map[string]any, trigger string) embed {
	return func(v any) any {
		obj, ok := v.(map[string]any)
		if !ok {
			return e(v)
		}
		merged := clone(base).(map[string]any)
		for k, x := range obj {
			merged[k] = x
		}
		if _, ok := merged[trigger]; !ok {
			merged[trigger] = "x"
			if ps, _ := propertySchema(s, trigger); ps != nil {
				if ex, ok := d.g.example(ps); ok {
					merged[trigger] = ex
				}
			}
		}
		return e(merged)
	}
}

// compareUnevaluatedProperties compares unevaluatedProperties where both
// schemas evaluate the same properties; otherwise which properties it
// applies to changed, and each direction is shown or left undecided.
func (d *differ) compareUnevaluatedProperties(o, n *jsonschema.Schema, ob, nb map[string]any, eo, en embed) {
	ou, nu := o.UnevaluatedProperties, n.UnevaluatedProperties
	if ou == nil && nu == nil {
		return
	}
	if d.sameEvaluation(o, n, true, true, map[[2]*jsonschema.Schema]bool{}) {
		if o.AdditionalProperties != nil {
			return // every property is evaluated
		}
		name, ok := extraName(o, n)
		if !ok {
			name = "extraProperty"
		}
		p := "/unevaluatedProperties"
		d.compare(d.orAny(ou, ptr(o)+p), d.orAny(nu, ptr(n)+p), withProp(eo, ob, name), withProp(en, nb, name))
		return
	}
	msg := "unevaluatedProperties: which properties count as evaluated changed (properties, patternProperties, additionalProperties, allOf, anyOf, oneOf, if/then/else, $ref, dependentSchemas or the draft)"
	withExtra := func(s *jsonschema.Schema, base map[string]any) []any {
		out := []any{}
		for _, c := range d.g.candidates(s, "object", 0) {
			out = append(out, c)
			obj := clone(c).(map[string]any)
			for _, name := range []string{"extraProperty", "x"} {
				obj[name] = "x"
			}
			out = append(out, obj)
		}
		obj := clone(base).(map[string]any)
		obj["extraProperty"] = "x"
		return append(out, obj)
	}
	if nu != nil {
		d.tightened(n, "unevaluatedProperties", msg, eo, withExtra(o, ob))
	}
	if ou != nil {
		d.loosened(n, "unevaluatedProperties", msg, en, withExtra(n, nb))
	}
}

// resizeObject adds or removes optional properties to reach k.
func (d *differ) resizeObject(obj map[string]any, k int, s *jsonschema.Schema) map[string]any {
	obj = clone(obj).(map[string]any)
	names := keys(obj)
	sort.Strings(names)
	for _, key := range names {
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
