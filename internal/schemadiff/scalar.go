package schemadiff

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Types, enumerations, strings, numbers and the size bounds they share.

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

// compareEnum compares const and enum where they cannot be decided value
// by value (see compareNode).
func (d *differ) compareEnum(o, n *jsonschema.Schema, eo, en embed) {
	ov, oHas := values(o)
	nv, nHas := values(n)
	if !oHas && !nHas {
		return
	}
	// Values are looked up by key: an enum of n values costs n, not n².
	set := func(vs []any) map[string]bool {
		m := make(map[string]bool, len(vs))
		for _, v := range vs {
			k, _ := canonKey(v)
			m[k] = true
		}
		return m
	}
	oset, nset := set(ov), set(nv)
	in := func(v any, set map[string]bool) bool {
		k, _ := canonKey(v)
		return set[k]
	}
	kw := "enum"
	if n.Const != nil || (n.Enum == nil && o.Const != nil) {
		kw = "const"
	}
	switch {
	case oHas && nHas:
		for _, v := range ov {
			if d.halted() {
				return
			}
			if !in(v, nset) {
				d.tightened(n, kw, fmt.Sprintf("value %s is no longer allowed", jsonText(v)), eo, []any{v})
			}
		}
		for _, v := range nv {
			if d.halted() {
				return
			}
			if !in(v, oset) {
				d.loosened(n, kw, fmt.Sprintf("value %s is allowed now", jsonText(v)), en, []any{v})
			}
		}
	case nHas:
		var cands []any
		for _, c := range d.g.candidates(o, "", 0) {
			if !in(c, nset) {
				cands = append(cands, c)
			}
		}
		d.tightened(n, kw, "values are restricted to "+brief(nv), eo, cands)
	case oHas:
		var cands []any
		for _, c := range d.g.candidates(n, "", 0) {
			if !in(c, oset) {
				cands = append(cands, c)
			}
		}
		d.loosened(n, kw, "values are no longer restricted to "+brief(ov), en, cands)
	}
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
	// sizes lists up to 10 sizes from first to last (inclusive, last < 0:
	// unbounded, 3 sizes), none over maxWitness: a bigger example is not
	// built, and the change is unknown with that reason.
	sizes := func(first, last int) []int {
		if last < 0 {
			last = first + 2
		}
		var out []int
		for k := first; k <= last && len(out) < 10; k++ {
			if k > maxWitness {
				d.oversize = true
				break
			}
			out = append(out, k)
		}
		return out
	}
	build := func(ks []int, s *jsonschema.Schema) []any {
		var cands []any
		for _, k := range ks {
			cands = append(cands, make(k, s)...)
		}
		return cands
	}
	if lo(nmin) > lo(omin) {
		d.tightened(n, "min"+suffix, fmt.Sprintf("at least %s %s now (was %s)", countText(lo(nmin)), what, countText(lo(omin))), eo, build(sizes(lo(omin), lo(nmin)-1), o))
	}
	if lo(nmin) < lo(omin) {
		d.loosened(n, "min"+suffix, fmt.Sprintf("at least %s %s now (was %s)", countText(lo(nmin)), what, countText(lo(omin))), en, build(sizes(lo(nmin), lo(omin)-1), n))
	}
	if hi(nmax) >= 0 && (hi(omax) < 0 || hi(nmax) < hi(omax)) {
		d.tightened(n, "max"+suffix, fmt.Sprintf("at most %s %s now (was %s)", countText(hi(nmax)), what, bound(omax)), eo, build(sizes(hi(nmax)+1, hi(omax)), o))
	}
	if hi(omax) >= 0 && (hi(nmax) < 0 || hi(nmax) > hi(omax)) {
		d.loosened(n, "max"+suffix, fmt.Sprintf("at most %s %s now (was %s)", bound(nmax), what, countText(hi(omax))), en, build(sizes(hi(omax)+1, hi(nmax)), n))
	}
}

func bound(p *int) string {
	if p == nil {
		return "any number of"
	}
	return countText(*p)
}

// countText is a count for a message; counts beyond maxCount were read
// as maxCount.
func countText(n int) string {
	if n >= maxCount {
		return fmt.Sprintf("more than %d", maxCount)
	}
	return fmt.Sprint(n)
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
	d.comparePattern(o, n, eo, en)
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

// comparePattern compares pattern keywords. Whether one regular
// expression's strings are all matched by another is decided only when
// the two are the same expression, or when one matches a finite set of
// strings (small enough to try them all); otherwise a direction is shown
// with a witness or left undecided.
func (d *differ) comparePattern(o, n *jsonschema.Schema, eo, en embed) {
	op, np := patternText(o), patternText(n)
	if op == np || op != "" && np != "" && sameRegexp(op, np) {
		return
	}
	msg := fmt.Sprintf("pattern changed from %q to %q", op, np)
	switch {
	case op == "":
		msg = fmt.Sprintf("pattern %q is required now", np)
	case np == "":
		msg = fmt.Sprintf("pattern %q is no longer required", op)
	}
	plain := []any{"", "x", "a", "A", "0", " ", "a b", "-", "_"}
	// Where cascade cannot read a pattern, an unknown says so.
	opaque := ""
	for _, p := range []string{op, np} {
		if p != "" && !portable(p) {
			opaque = fmt.Sprintf("cascade cannot analyse the pattern %q (ECMA-262 syntax Go's regexp/syntax reads differently or not at all: lookaround, backreferences, \\u escapes, \\s, ...); no example found", p)
			break
		}
	}
	if np != "" && !d.patternIncluded(op, n.Pattern) {
		cands := append(stringsOf(fromPattern(op, 24)), d.g.strs(o)...)
		if !d.tightened(n, "pattern", msg, eo, append(cands, plain...)) {
			d.explain(opaque)
		}
	}
	if op != "" && !d.patternIncluded(np, o.Pattern) {
		cands := append(stringsOf(fromPattern(np, 24)), d.g.strs(n)...)
		if !d.loosened(n, "pattern", msg, en, append(cands, plain...)) {
			d.explain(opaque)
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

// integerOnly reports whether s accepts integers and no other type.
func integerOnly(s *jsonschema.Schema) bool {
	return s.Types != nil && len(s.Types.ToStrings()) == 1 && s.Types.ToStrings()[0] == "integer"
}

// step is the number every accepted number is a multiple of (nil: none).
// For integers it is at least 1: an integer multiple of p/q is a multiple
// of p.
func step(s *jsonschema.Schema) *big.Rat {
	m := s.MultipleOf
	if integerOnly(s) {
		if m == nil {
			return big.NewRat(1, 1)
		}
		return new(big.Rat).SetInt(new(big.Int).Abs(m.Num()))
	}
	return m
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
	// Every multiple of a is a multiple of b when a/b is an integer.
	divides := func(a, b *big.Rat) bool { return new(big.Rat).Quo(a, b).IsInt() }
	// A keyword's own value against what the other side's values are
	// multiples of (integers being multiples of 1).
	if nm, om := n.MultipleOf, step(o); nm != nil && (om == nil || !divides(om, nm)) {
		d.tightened(n, "multipleOf", fmt.Sprintf("values must be multiples of %s now", ratNum(nm)), eo, multiples(om, o))
	}
	if om, nm := o.MultipleOf, step(n); om != nil && (nm == nil || !divides(nm, om)) {
		d.loosened(n, "multipleOf", fmt.Sprintf("values no longer need to be multiples of %s", ratNum(om)), en, multiples(nm, n))
	}
}

// brief is a list of values for a message: its JSON text, shortened when
// long.
func brief(vs []any) string {
	t := jsonText(vs)
	if len(t) <= 200 {
		return t
	}
	cut := 200
	for cut > 0 && !utf8.RuneStart(t[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%d values)", t[:cut], len(vs))
}
