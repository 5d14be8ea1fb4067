package schemadiff

import (
	"encoding/json"
	"math/big"
	"regexp/syntax"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The generator proposes instances of a schema. Its proposals are only
// candidates: every one is checked with the validator before it is used.

const maxDepth = 6

// gen proposes instances, remembering what it proposed for each schema.
type gen struct {
	memo map[genKey][]any
	busy map[*jsonschema.Schema]bool
	// d, when set, is told of examples not built for their size.
	d *differ
}

type genKey struct {
	s    *jsonschema.Schema
	only string
}

func newGen(d *differ) *gen {
	return &gen{memo: map[genKey][]any{}, busy: map[*jsonschema.Schema]bool{}, d: d}
}

// tooLarge reports whether an example of n items or characters is more
// than maxWitness, and notes it.
func (g *gen) tooLarge(n int) bool {
	if n <= maxWitness {
		return false
	}
	if g.d != nil {
		g.d.oversize = true
	}
	return true
}

// typesOf lists the types a schema allows, in the order examples are
// tried: the type its keywords suggest first.
func typesOf(s *jsonschema.Schema) []string {
	if s.Types != nil {
		return orderTypes(s.Types.ToStrings(), s)
	}
	return orderTypes([]string{"null", "boolean", "number", "integer", "string", "array", "object"}, s)
}

func orderTypes(ts []string, s *jsonschema.Schema) []string {
	score := func(t string) int {
		switch t {
		case "object":
			if len(s.Properties) > 0 || len(s.Required) > 0 || s.AdditionalProperties != nil || s.MinProperties != nil || len(s.PatternProperties) > 0 {
				return 0
			}
			return 5
		case "array":
			if s.Items != nil || s.Items2020 != nil || len(s.PrefixItems) > 0 || s.MinItems != nil || s.MaxItems != nil || s.UniqueItems {
				return 0
			}
			return 6
		case "string":
			if s.MinLength != nil || s.MaxLength != nil || s.Pattern != nil || s.Format != nil {
				return 0
			}
			return 1
		case "integer":
			return 2
		case "number":
			if s.Minimum != nil || s.Maximum != nil || s.ExclusiveMinimum != nil || s.ExclusiveMaximum != nil || s.MultipleOf != nil {
				return 0
			}
			return 3
		case "boolean":
			return 4
		}
		return 7
	}
	out := append([]string(nil), ts...)
	sort.SliceStable(out, func(a, b int) bool { return score(out[a]) < score(out[b]) })
	return out
}

// example returns an instance valid under s, if the generator finds one.
func (g *gen) example(s *jsonschema.Schema) (any, bool) {
	for _, c := range g.candidates(s, "", 0) {
		if g.d.valid(s, c) {
			return c, true
		}
	}
	return nil, false
}

// exampleOfType returns an instance of type t valid under s.
func (g *gen) exampleOfType(s *jsonschema.Schema, t string) (any, bool) {
	for _, c := range g.candidates(s, t, 0) {
		if g.d.valid(s, c) && jsonType(c) == t || (t == "number" && jsonType(c) == "integer" && g.d.valid(s, c)) {
			return c, true
		}
	}
	return nil, false
}

func jsonType(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		if r, ok := new(big.Rat).SetString(string(v)); ok && r.IsInt() {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return ""
}

// candidates proposes instances of s, of type only (if set).
func (g *gen) candidates(s *jsonschema.Schema, only string, depth int) []any {
	if s == nil {
		return []any{map[string]any{}, "x", json.Number("0"), nil}
	}
	k := genKey{s, only}
	if c, ok := g.memo[k]; ok {
		return c
	}
	if g.d != nil && g.d.halted() {
		return nil
	}
	if g.busy[s] || depth > maxDepth {
		// A recursive schema: plain values end the recursion.
		return []any{nil, "x", json.Number("0"), map[string]any{}, []any{}, true}
	}
	g.busy[s] = true
	out := g.propose(s, only, depth)
	delete(g.busy, s)
	if len(out) > 64 {
		out = out[:64]
	}
	g.memo[k] = out
	return out
}

func (g *gen) propose(s *jsonschema.Schema, only string, depth int) []any {
	if s == nil {
		return []any{map[string]any{}, "x", json.Number("0"), nil}
	}
	if s.Bool != nil {
		if *s.Bool {
			return []any{map[string]any{}, "x", json.Number("0"), true, nil, []any{}}
		}
		return nil
	}
	if depth > maxDepth {
		return []any{nil, "x", json.Number("0"), map[string]any{}, []any{}, true}
	}
	var out []any
	if s.Const != nil {
		out = append(out, *s.Const)
	}
	if s.Enum != nil {
		out = append(out, s.Enum.Values...)
	}
	if s.Ref != nil {
		out = append(out, g.candidates(s.Ref, only, depth+1)...)
	}
	for _, sub := range s.AllOf {
		out = append(out, g.candidates(sub, only, depth+1)...)
	}
	if merged := g.mergeAllOf(s, depth); merged != nil {
		out = append([]any{merged}, out...)
	}
	for _, sub := range s.AnyOf {
		out = append(out, g.candidates(sub, only, depth+1)...)
	}
	for _, sub := range s.OneOf {
		out = append(out, g.candidates(sub, only, depth+1)...)
	}
	for _, t := range typesOf(s) {
		if only != "" && t != only && !(only == "number" && t == "integer") {
			continue
		}
		switch t {
		case "null":
			out = append(out, nil)
		case "boolean":
			out = append(out, true, false)
		case "integer", "number":
			out = append(out, numbers(s, t == "integer")...)
		case "string":
			out = append(out, g.strs(s)...)
		case "array":
			out = append(out, g.arrays(s, depth)...)
		case "object":
			out = append(out, g.objects(s, depth)...)
		}
	}
	if s.Not != nil {
		out = append(out, nil, true, json.Number("0"), "", map[string]any{}, []any{})
	}
	if only != "" {
		kept := out[:0]
		for _, c := range out {
			if jt := jsonType(c); jt == only || only == "number" && jt == "integer" {
				kept = append(kept, c)
			}
		}
		out = kept
	}
	return out
}

// mergeAllOf merges example objects of an allOf's members and of the
// schema's own properties into one object.
func (g *gen) mergeAllOf(s *jsonschema.Schema, depth int) any {
	if len(s.AllOf) == 0 {
		return nil
	}
	merged := map[string]any{}
	parts := append([]*jsonschema.Schema{}, s.AllOf...)
	if s.Ref != nil {
		parts = append(parts, s.Ref)
	}
	for _, p := range parts {
		for _, c := range g.candidates(p, "object", depth+1) {
			if g.d.valid(p, c) {
				for k, v := range c.(map[string]any) {
					merged[k] = v
				}
				break
			}
		}
	}
	for _, c := range g.objects(s, depth) {
		for k, v := range c.(map[string]any) {
			if _, ok := merged[k]; !ok {
				merged[k] = v
			}
		}
		break
	}
	return merged
}

func ratNum(r *big.Rat) json.Number {
	if r.IsInt() {
		return json.Number(r.Num().String())
	}
	f, _ := r.Float64()
	return json.Number(strings.TrimRight(strings.TrimRight(big.NewFloat(f).Text('f', 10), "0"), "."))
}

// numbers proposes numbers at and around the schema's bounds.
func numbers(s *jsonschema.Schema, integer bool) []any {
	var rs []*big.Rat
	add := func(r *big.Rat) {
		if r != nil {
			rs = append(rs, r)
		}
	}
	one := big.NewRat(1, 1)
	add(new(big.Rat))
	for _, b := range []*big.Rat{s.Minimum, s.Maximum, s.ExclusiveMinimum, s.ExclusiveMaximum} {
		if b != nil {
			add(b)
			add(new(big.Rat).Add(b, one))
			add(new(big.Rat).Sub(b, one))
			if !integer {
				add(new(big.Rat).Add(b, big.NewRat(1, 2)))
				add(new(big.Rat).Sub(b, big.NewRat(1, 2)))
			}
		}
	}
	if lo, hi := lower(s), upper(s); lo != nil && hi != nil {
		add(new(big.Rat).Quo(new(big.Rat).Add(lo, hi), big.NewRat(2, 1)))
	}
	if s.MultipleOf != nil {
		for k := int64(1); k <= 3; k++ {
			add(new(big.Rat).Mul(s.MultipleOf, big.NewRat(k, 1)))
		}
		if lo := lower(s); lo != nil {
			q := new(big.Rat).Quo(lo, s.MultipleOf)
			n := new(big.Int).Quo(q.Num(), q.Denom())
			for d := int64(0); d <= 2; d++ {
				k := new(big.Rat).SetInt(new(big.Int).Add(n, big.NewInt(d)))
				add(new(big.Rat).Mul(k, s.MultipleOf))
			}
		}
	}
	if !integer {
		add(big.NewRat(1, 2))
	}
	add(big.NewRat(1, 1))
	var out []any
	for _, r := range rs {
		if integer && !r.IsInt() {
			continue
		}
		out = append(out, ratNum(r))
	}
	return out
}

func lower(s *jsonschema.Schema) *big.Rat {
	if s.Minimum != nil {
		return s.Minimum
	}
	return s.ExclusiveMinimum
}

func upper(s *jsonschema.Schema) *big.Rat {
	if s.Maximum != nil {
		return s.Maximum
	}
	return s.ExclusiveMaximum
}

var formatExamples = map[string][]string{
	"date-time": {"2026-03-02T09:00:00Z"}, "date": {"2026-03-02"}, "time": {"09:00:00Z"},
	"duration": {"P1D"}, "email": {"ada@example.com"}, "idn-email": {"ada@example.com"},
	"hostname": {"example.com"}, "idn-hostname": {"example.com"}, "ipv4": {"192.0.2.1"},
	"ipv6": {"2001:db8::1"}, "uri": {"https://example.com/a"}, "uri-reference": {"/a"},
	"iri": {"https://example.com/a"}, "iri-reference": {"/a"}, "uuid": {"123e4567-e89b-12d3-a456-426614174000"},
	"uri-template": {"/a/{b}"}, "json-pointer": {"/a"}, "relative-json-pointer": {"0/a"}, "regex": {"^a$"},
}

// strs proposes strings: from the pattern, the format and the length bounds.
func (g *gen) strs(s *jsonschema.Schema) []any {
	var out []string
	if s.Format != nil {
		out = append(out, formatExamples[s.Format.Name]...)
	}
	if s.Pattern != nil {
		out = append(out, fromPattern(s.Pattern.String(), 8)...)
	}
	for _, n := range lengths(s) {
		if g.tooLarge(n) {
			continue
		}
		out = append(out, strings.Repeat("a", n))
		for _, p := range out[:min(len(out), 3)] {
			if len([]rune(p)) < n {
				out = append(out, p+strings.Repeat("a", n-len([]rune(p))))
			}
		}
	}
	out = append(out, "x", "")
	res := make([]any, len(out))
	for i, v := range out {
		res[i] = v
	}
	return res
}

func lengths(s *jsonschema.Schema) []int {
	ls := []int{1}
	if s.MinLength != nil {
		ls = append(ls, *s.MinLength, *s.MinLength+1)
	}
	if s.MaxLength != nil {
		ls = append(ls, *s.MaxLength, max(*s.MaxLength-1, 0))
	}
	return ls
}

func (g *gen) arrays(s *jsonschema.Schema, depth int) []any {
	item := itemSchema(s)
	var elems []any
	for _, c := range g.candidates(item, "", depth+1) {
		if item == nil || g.d.valid(item, c) {
			elems = append(elems, c)
		}
		if len(elems) >= 3 {
			break
		}
	}
	n := 0
	if s.MinItems != nil {
		n = *s.MinItems
	}
	if g.tooLarge(n) {
		return nil
	}
	var out []any
	for _, size := range []int{n, max(n, 1)} {
		arr := []any{}
		for i, p := range s.PrefixItems {
			if i >= size && i >= len(s.PrefixItems) {
				break
			}
			if v, ok := g.example(p); ok {
				arr = append(arr, v)
			}
		}
		for len(arr) < size && len(elems) > 0 {
			arr = append(arr, distinct(elems, len(arr)))
		}
		out = append(out, arr)
	}
	return out
}

// distinct returns the i-th proposal, made different from the others when
// there are not enough (for uniqueItems).
func distinct(elems []any, i int) any {
	if i < len(elems) {
		return elems[i]
	}
	switch v := elems[0].(type) {
	case string:
		return v + strings.Repeat("a", i)
	case json.Number:
		return json.Number(big.NewInt(int64(i) + 100).String())
	}
	return elems[0]
}

func (g *gen) objects(s *jsonschema.Schema, depth int) []any {
	obj := map[string]any{}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	fill := func(name string) {
		if _, ok := obj[name]; ok {
			return
		}
		ps := s.Properties[name]
		if ps == nil {
			if as, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
				ps = as
			}
		}
		for _, c := range g.candidates(ps, "", depth+1) {
			if ps == nil || g.d.valid(ps, c) {
				obj[name] = c
				return
			}
		}
		obj[name] = "x"
	}
	for _, r := range s.Required {
		fill(r)
	}
	withRequired := clone(obj).(map[string]any)
	for _, n := range names {
		fill(n)
	}
	out := []any{withRequired, obj}
	if s.MinProperties != nil {
		big := clone(obj).(map[string]any)
		for i := 0; len(big) < *s.MinProperties && i < 100; i++ {
			big["extra"+string(rune('a'+i%26))] = "x"
		}
		out = append(out, big)
	}
	return out
}

// around proposes instances near several schemas at once: each one's
// candidates, strings at every length bound of any of them, numbers at
// every bound, and objects merged from two candidates. Branches of anyOf
// and oneOf are searched with them: what one accepts and another rejects,
// or what both accept.
func (g *gen) around(ss ...*jsonschema.Schema) []any {
	var out []any
	seen := map[string]bool{}
	add := func(v any) {
		k := jsonText(v)
		if !seen[k] && len(out) < 300 {
			seen[k] = true
			out = append(out, v)
		}
	}
	var lens []int
	var texts []string
	var objs []map[string]any
	for _, s := range ss {
		s = deref(s)
		if s == nil {
			continue
		}
		for _, c := range g.candidates(s, "", 0) {
			add(c)
			if m, ok := c.(map[string]any); ok && len(objs) < 6 {
				objs = append(objs, m)
			}
		}
		if s.Bool != nil {
			continue
		}
		for _, p := range []*int{s.MinLength, s.MaxLength} {
			if p != nil {
				lens = append(lens, *p-1, *p, *p+1)
			}
		}
		for _, v := range g.strs(s) {
			if str, ok := v.(string); ok && len(texts) < 8 {
				texts = append(texts, str)
			}
		}
		for _, v := range numbers(s, false) {
			add(v)
		}
	}
	for _, l := range lens {
		if l < 0 || l > 1000 {
			continue
		}
		for _, base := range append(texts, "a") {
			r := []rune(base)
			if len(r) >= l {
				add(string(r[:l]))
			} else {
				add(base + strings.Repeat("a", l-len(r)))
			}
		}
	}
	for i := range objs {
		for j := range objs {
			if i == j {
				continue
			}
			merged := clone(objs[i]).(map[string]any)
			for k, v := range objs[j] {
				if _, ok := merged[k]; !ok {
					merged[k] = clone(v)
				}
			}
			add(merged)
		}
	}
	return out
}

// overlap proposes instances both a and b may accept.
func (g *gen) overlap(a, b *jsonschema.Schema) []any { return g.around(a, b) }

// fromPattern proposes up to limit strings that match the regular
// expression, taking different branches of its alternations and ends of
// its character classes.
func fromPattern(pattern string, limit int) []string {
	re, ok := parsePattern(pattern)
	if !ok {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for variant := 0; variant < limit*2 && len(out) < limit; variant++ {
		s := genRegexp(re, variant)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func genRegexp(re *syntax.Regexp, variant int) string {
	switch re.Op {
	case syntax.OpLiteral:
		return string(re.Rune)
	case syntax.OpCharClass:
		if len(re.Rune) == 0 {
			return ""
		}
		pairs := len(re.Rune) / 2
		p := variant % pairs
		lo, hi := re.Rune[2*p], re.Rune[2*p+1]
		r := lo
		if variant/pairs%2 == 1 {
			r = hi
		}
		if r > 0x10FFFF || r < 0 {
			r = lo
		}
		return string(r)
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
		return "a"
	case syntax.OpCapture:
		return genRegexp(re.Sub[0], variant)
	case syntax.OpQuest:
		if variant%2 == 1 {
			return genRegexp(re.Sub[0], variant/2)
		}
		return ""
	case syntax.OpStar, syntax.OpPlus:
		// 0 or 1, then longer runs: lengths matter to other keywords.
		lengths := []int{0, 1, 2, 5, 9, 17, 33, 65}
		reps := lengths[variant%len(lengths)]
		if re.Op == syntax.OpPlus && reps == 0 {
			reps = 1
		}
		var b strings.Builder
		for i := 0; i < reps; i++ {
			b.WriteString(genRegexp(re.Sub[0], variant/len(lengths)+i))
		}
		return b.String()
	case syntax.OpRepeat:
		n := re.Min
		if variant%2 == 1 && re.Max > re.Min {
			n = re.Max
			if n < 0 || n > re.Min+3 {
				n = re.Min + 1
			}
		}
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(genRegexp(re.Sub[0], variant))
		}
		return b.String()
	case syntax.OpConcat:
		var b strings.Builder
		for _, sub := range re.Sub {
			b.WriteString(genRegexp(sub, variant))
		}
		return b.String()
	case syntax.OpAlternate:
		return genRegexp(re.Sub[variant%len(re.Sub)], variant/len(re.Sub))
	}
	return ""
}

// clone deep-copies a JSON value.
func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, x := range v {
			m[k] = clone(x)
		}
		return m
	case []any:
		a := make([]any, len(v))
		for i, x := range v {
			a[i] = clone(x)
		}
		return a
	}
	return v
}
