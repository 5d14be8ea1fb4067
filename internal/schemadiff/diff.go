package schemadiff

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
	// Breaking is true when the new schema rejects something the old
	// accepted (Tightened) or when some change could not be decided
	// (Unknown): what cannot be shown compatible counts as breaking.
	Breaking  bool      `json:"breaking"`
	Tightened []Finding `json:"tightened"`
	Loosened  []Finding `json:"loosened"`
	Unknown   []Finding `json:"unknown"`
}

// Compare compares old and new.
//
// A finding in Tightened or Loosened carries a witness that the validator
// accepts under one schema and rejects under the other. Where the
// comparison cannot show that nothing was tightened (or loosened) and finds
// no witness either, it lists the construct in Unknown with the reason.
// Nothing is ever concluded "compatible" without that proof. The work is
// bounded: pairs of subschemas are compared once, candidate witnesses are
// capped, and a comparison that reaches its budget says so in Unknown.
func Compare(old, new *Schema) Result {
	r, _ := CompareContext(context.Background(), old, new, Options{})
	return r
}

// Options bound one comparison.
type Options struct {
	// Timeout is the time the comparison may take (DefaultTimeout when
	// zero). What is left to compare when it runs out is reported in
	// Unknown, never as compatible.
	Timeout time.Duration
}

// DefaultTimeout is the time a comparison may take unless told otherwise.
const DefaultTimeout = 30 * time.Second

// CompareContext is Compare within a budget: ctx, opt.Timeout and the
// work bounds of the package. When ctx is cancelled it stops within a
// fraction of a second and returns ctx's error with what it found so far.
// When the budget runs out, the rest is one finding in Unknown (the
// comparison stopped, and why) and the result counts as breaking.
func CompareContext(ctx context.Context, old, new *Schema, opt Options) (Result, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	d := newDiffer(old, new, allShortcuts)
	d.ctx, d.deadline = ctx, time.Now().Add(opt.Timeout)
	d.timeout = opt.Timeout
	r := d.run()
	if d.stopped && ctx.Err() != nil {
		return r, ctx.Err()
	}
	return r, nil
}

func compareWith(old, new *Schema, sc shortcuts) Result {
	return newDiffer(old, new, sc).run()
}

// shortcuts says which equal parts the comparison may skip; tests turn
// them off to check that the analysis itself finds no difference between
// equal schemas.
type shortcuts int

const (
	allShortcuts       shortcuts = iota // identical documents, equal subschemas
	subschemaShortcuts                  // equal subschemas only
	noShortcuts
)

func (d *differ) run() Result {
	if d.sc != allShortcuts || jsonText(d.old.Doc) != jsonText(d.new.Doc) {
		d.compareRoot()
	}
	unknown := d.unknowns()
	if d.stopped {
		unknown = append(unknown, Finding{Path: "", Message: "the comparison stopped before it was complete (" + d.stopWhy + "): what it did not reach may reject instances the old schema accepted"})
	}
	r := Result{Tightened: dedupe(d.tight), Loosened: dedupe(d.loose), Unknown: dedupe(unknown)}
	for _, fs := range []*[]Finding{&r.Tightened, &r.Loosened, &r.Unknown} {
		if *fs == nil {
			*fs = []Finding{}
		}
	}
	r.Breaking = len(r.Tightened) > 0 || len(r.Unknown) > 0
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

// Bounds on the work of one comparison.
const (
	// maxWork bounds the candidate witnesses validated against the whole
	// schemas, counted in JSON values (a big instance costs more).
	maxWork      = 500000
	maxCands     = 200   // candidates tried for one finding
	maxEqSteps   = 20000 // subschema pairs visited by one equality check
	maxReachable = 5000  // subschemas walked to look for $dynamicRef
	// maxPairs bounds the subschema pairs compared in all.
	maxPairs = 100000
	// maxWitness is the most items, properties or characters a witness
	// may have in one value: a change that needs a bigger example is
	// reported as unknown, with that reason.
	maxWitness = 10000
	// maxWitnessSize bounds a whole witness, in JSON values.
	maxWitnessSize = 100000
	// maxEvaluations bounds the subschema evaluations of all the
	// validations of one comparison (each bounded by MaxEvaluations).
	maxEvaluations = 20_000_000
)

type differ struct {
	old, new     *Schema
	tight, loose []Finding
	undecided    []undecided
	sc           shortcuts
	g            *gen

	// pairs holds the subschema pairs compared (or being compared).
	pairs map[pairKey]*pairState
	// mayT and mayL say whether the pair being compared may tighten or
	// loosen: a finding or an unknown was recorded in that direction.
	mayT, mayL bool
	// skipT and skipL turn off the search in one direction, where it was
	// already decided otherwise (a finite set of values).
	skipT, skipL bool
	// notDepth counts the "not" keywords around the pair being compared:
	// inside an odd number, old and new trade places.
	notDepth int
	// work counts the JSON values of the candidates validated (bounded by
	// maxWork).
	work int

	eqMemo      map[[2]*jsonschema.Schema]bool
	alone       map[*jsonschema.Schema]bool
	proto, none *jsonschema.Schema
	finite      map[*jsonschema.Schema]*finiteSet
	// languages are the strings of patterns that match a finite set, by
	// pattern (nil: not finite).
	languages map[string][]string

	// The budget: ctx and the deadline are checked every few steps; once
	// either ends, stopped is set and every loop returns.
	ctx      context.Context
	deadline time.Time
	timeout  time.Duration
	stopped  bool
	stopWhy  string
	// oversize is set when an example was not built because it would
	// exceed maxWitness; the next undecided change says so.
	oversize bool

	// cost bounds each validation's work; evaluations sums the bounds of
	// the validations run (bounded by maxEvaluations), and costly is set
	// when one was not run because its bound exceeded MaxEvaluations.
	cost        *costModel
	evaluations uint64
	evalBudget  uint64
	costly      bool
}

type pairKey struct {
	o, n         *jsonschema.Schema
	skipT, skipL bool
}

type pairState struct{ done, mayT, mayL bool }

func newDiffer(old, new *Schema, sc shortcuts) *differ {
	p := protos()
	d := &differ{old: old, new: new, sc: sc, pairs: map[pairKey]*pairState{},
		eqMemo: map[[2]*jsonschema.Schema]bool{}, alone: map[*jsonschema.Schema]bool{}, proto: p.any, none: p.none,
		finite: map[*jsonschema.Schema]*finiteSet{}, languages: map[string][]string{}, ctx: context.Background(),
		cost: newCostModel(old.Compiled, new.Compiled, p.any, p.none), evalBudget: maxEvaluations}
	d.g = newGen(d)
	return d
}

// compareRoot compares the two schemas. A pattern that times out where
// the analysis matches it directly (property names, pattern inclusion)
// stops the comparison: what is left is unknown.
func (d *differ) compareRoot() {
	defer func() {
		if r := recover(); r != nil {
			te, ok := r.(*MatchTimeoutError)
			if !ok {
				panic(r)
			}
			d.stopped, d.stopWhy = true, te.Error()
		}
	}()
	id := func(v any) any { return v }
	d.compare(d.old.Compiled, d.new.Compiled, id, id)
}

// halted reports whether the comparison must stop: ctx was cancelled, the
// deadline passed, or the pairs compared reached maxPairs. It is cheap
// enough to call in every loop.
func (d *differ) halted() bool {
	if d.stopped {
		return true
	}
	// Every step is coarse (a pair compared, a candidate validated): the
	// clock and ctx are cheap enough to read at each one.
	switch {
	case d.ctx.Err() != nil:
		d.stopped, d.stopWhy = true, "interrupted"
	case !d.deadline.IsZero() && time.Now().After(d.deadline):
		d.stopped, d.stopWhy = true, fmt.Sprintf("it reached its time limit of %s", d.timeout)
	case len(d.pairs) >= maxPairs:
		d.stopped, d.stopWhy = true, fmt.Sprintf("it reached its limit of %d subschema pairs", maxPairs)
	case d.evaluations >= d.evalBudget:
		d.stopped, d.stopWhy = true, fmt.Sprintf("it reached its limit of %d subschema evaluations", d.evalBudget)
	}
	return d.stopped
}

var protos = sync.OnceValue(func() struct{ any, none *jsonschema.Schema } {
	compile := func(doc any) *jsonschema.Schema {
		c := jsonschema.NewCompiler()
		c.DefaultDraft(jsonschema.Draft2020)
		if err := c.AddResource("schemadiff:///proto.json", doc); err != nil {
			panic(err)
		}
		s, err := c.Compile("schemadiff:///proto.json")
		if err != nil {
			panic(err)
		}
		return s
	}
	return struct{ any, none *jsonschema.Schema }{compile(map[string]any{}), compile(false)}
})

// anySchema is the schema that accepts everything, standing for a
// subschema that is absent at pointer.
func (d *differ) anySchema(pointer string) *jsonschema.Schema {
	s := *d.proto
	s.Location = "#" + pointer
	s.Bool = nil // the library compiles {} to true; this one has keywords, none set
	return &s
}

// noneSchema is the schema that accepts nothing (a false keyword value
// such as additionalItems: false), at pointer.
func (d *differ) noneSchema(pointer string) *jsonschema.Schema {
	s := *d.none
	s.Location = "#" + pointer
	return &s
}

// orAny is s, or the schema that accepts everything when s is absent.
func (d *differ) orAny(s *jsonschema.Schema, pointer string) *jsonschema.Schema {
	if s == nil {
		return d.anySchema(pointer)
	}
	return s
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

func at(n *jsonschema.Schema, kw string) string {
	if kw == "" {
		return ptr(n)
	}
	return ptr(n) + "/" + kw
}

// undecided is a change with no witness found in a direction (t, l) that
// could not be ruled out either.
type undecided struct {
	path, msg, why string
	t, l           bool
}

// tightened records a tightening if one of cands, placed by eo, is
// accepted by the old schema and rejected by the new; otherwise an unknown.
func (d *differ) tightened(n *jsonschema.Schema, kw, msg string, eo embed, cands []any) bool {
	if d.skipT {
		return false
	}
	d.mayT = true
	return d.witness(at(n, kw), msg, eo, cands, d.old, d.new, &d.tight, true)
}

// loosened records a loosening if one of cands, placed by en, is accepted
// by the new schema and rejected by the old.
func (d *differ) loosened(n *jsonschema.Schema, kw, msg string, en embed, cands []any) bool {
	if d.skipL {
		return false
	}
	d.mayL = true
	return d.witness(at(n, kw), msg, en, cands, d.new, d.old, &d.loose, false)
}

// witness records a finding, in into, with the first candidate (placed by
// place) that the accepts schema validates and the rejects schema does
// not; without one, the change is undecided in that direction.
func (d *differ) witness(path, msg string, place embed, cands []any, accepts, rejects *Schema, into *[]Finding, tight bool) bool {
	msg = d.context(msg)
	timedOut := false
	for i, c := range cands {
		if i >= maxCands || d.work >= maxWork || d.halted() {
			break
		}
		if tooBig(c) {
			d.oversize = true
			continue
		}
		root := place(c)
		n := size(root)
		if n > maxWitnessSize || tooBig(root) {
			d.oversize = true
			continue
		}
		d.work += n
		ok, err := d.check(accepts.Compiled, root)
		if err != nil {
			timedOut = true
			continue
		}
		if !ok {
			continue
		}
		ok, err = d.check(rejects.Compiled, root)
		if err != nil {
			timedOut = true
			continue
		}
		if !ok {
			*into = append(*into, Finding{Path: path, Message: msg, Witness: root})
			d.oversize, d.costly = false, false
			return true
		}
	}
	why := "no example found"
	switch {
	case d.stopped:
		why = "the comparison stopped before it was complete"
	case d.work >= maxWork:
		why = "the comparison reached its limit of candidate examples"
	case d.oversize:
		why = fmt.Sprintf("an example would need more than %d items, properties or characters in one value, and none was built", maxWitness)
	case d.costly:
		why = fmt.Sprintf("validating an example could cost more than %d subschema evaluations (the schema's anyOf, allOf, oneOf and $ref multiply), and none was validated", MaxEvaluations)
	case timedOut:
		why = "a pattern took too long to match an example"
	}
	d.oversize, d.costly = false, false
	d.undecided = append(d.undecided, undecided{path: path, msg: msg, why: why, t: tight, l: !tight})
	return false
}

// explain gives the change just left undecided a better reason than "no
// example found" (nothing when why is empty).
func (d *differ) explain(why string) {
	if why == "" || len(d.undecided) == 0 {
		return
	}
	if u := &d.undecided[len(d.undecided)-1]; u.why == "no example found" {
		u.why = why
	}
}

// undecide records a change whose effect cannot be decided either way.
func (d *differ) undecide(n *jsonschema.Schema, kw, msg string) {
	if d.skipT && d.skipL {
		return
	}
	d.mayT, d.mayL = d.mayT || !d.skipT, d.mayL || !d.skipL
	d.undecided = append(d.undecided, undecided{path: at(n, kw), msg: d.context(msg)})
}

// unknowns lists what is undecided, one finding per path and change with
// the directions it may go.
func (d *differ) unknowns() []Finding {
	type key struct{ path, msg string }
	merged := map[key]*undecided{}
	var order []key
	for _, u := range d.undecided {
		k := key{u.path, u.msg}
		m, ok := merged[k]
		if !ok {
			u := u
			merged[k] = &u
			order = append(order, k)
			continue
		}
		m.t, m.l = m.t || u.t, m.l || u.l
		if u.why != "no example found" {
			m.why = u.why
		}
	}
	var out []Finding
	for _, k := range order {
		u := merged[k]
		msg := u.msg
		var maybe string
		switch {
		case u.t && u.l:
			maybe = "may reject instances the old schema accepted, or accept instances it rejected"
		case u.t:
			maybe = "may reject instances the old schema accepted"
		case u.l:
			maybe = "may accept instances the old schema rejected"
		}
		if maybe != "" {
			msg += " (" + maybe + "; " + u.why + ")"
		}
		out = append(out, Finding{Path: u.path, Message: msg})
	}
	return out
}

// context says when a finding was made inside "not", where the roles of
// old and new in the message are swapped.
func (d *differ) context(msg string) string {
	if d.notDepth%2 == 1 {
		return `inside "not" (old and new swapped): ` + msg
	}
	return msg
}

// memoKey is the schema itself, or one key for every synthetic schema
// that accepts everything (or nothing): comparing one with a recursive
// schema must end.
func (d *differ) memoKey(s *jsonschema.Schema) *jsonschema.Schema {
	if !strings.HasPrefix(s.Location, "#") {
		return s
	}
	if s.Bool != nil {
		return d.none
	}
	return d.proto
}

// lastRef follows $refs that stand alone up to the last one.
func lastRef(s *jsonschema.Schema) *jsonschema.Schema {
	for i := 0; s.Ref != nil && onlyRef(s.Ref) && s.Ref.Ref != nil && i < 32; i++ {
		s = s.Ref
	}
	return s
}

// deref follows a $ref that stands alone.
func deref(s *jsonschema.Schema) *jsonschema.Schema {
	for i := 0; s != nil && s.Ref != nil && onlyRef(s) && i < 32; i++ {
		s = s.Ref
	}
	return s
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

// compare compares the subschemas o (old) and n (new) at one location;
// eo and en place a value there in a root instance.
func (d *differ) compare(o, n *jsonschema.Schema, eo, en embed) {
	if d.halted() {
		// What is not compared may differ.
		d.mayT, d.mayL = true, true
		return
	}
	o0, n0 := o, n
	o, n = deref(o), deref(n)
	if o == nil || n == nil {
		return
	}
	// A $ref beside other keywords against a $ref alone: keep the $ref
	// on both sides, so the targets are compared with each other and the
	// other keywords with none.
	if o.Ref != nil && n.Ref == nil && n0 != n {
		n = lastRef(n0)
	} else if n.Ref != nil && o.Ref == nil && o0 != o {
		o = lastRef(o0)
	}
	key := pairKey{d.memoKey(o), d.memoKey(n), d.skipT, d.skipL}
	if st, ok := d.pairs[key]; ok {
		if st.done {
			d.mayT, d.mayL = d.mayT || st.mayT, d.mayL || st.mayL
		} else {
			// Recursion: the pair is compared further up, where its
			// findings are recorded. Assume it may differ.
			d.mayT, d.mayL = true, true
		}
		return
	}
	st := &pairState{}
	d.pairs[key] = st
	outerT, outerL := d.mayT, d.mayL
	d.mayT, d.mayL = false, false
	d.compareNode(o, n, eo, en)
	st.done, st.mayT, st.mayL = true, d.mayT, d.mayL
	d.mayT, d.mayL = outerT || st.mayT, outerL || st.mayL
}

// sub compares a pair and says whether it may tighten or loosen.
func (d *differ) sub(o, n *jsonschema.Schema, eo, en embed) (mayT, mayL bool) {
	outerT, outerL := d.mayT, d.mayL
	d.mayT, d.mayL = false, false
	d.compare(o, n, eo, en)
	mayT, mayL = d.mayT, d.mayL
	d.mayT, d.mayL = outerT || mayT, outerL || mayL
	return mayT, mayL
}

func (d *differ) compareNode(o, n *jsonschema.Schema, eo, en embed) {
	if d.sc != noShortcuts && d.eq(o, n) {
		return
	}
	if o.Bool != nil || n.Bool != nil {
		d.compareBool(o, n, eo, en)
		return
	}
	d.compareDynamic(o, n, eo, en)
	// A const or an enum is a finite set of values: the validator decides
	// each one, and that settles the direction completely.
	ov, oFinite := values(o)
	nv, nFinite := values(n)
	exact := d.standalone(o) && d.standalone(n)
	oFinite, nFinite = oFinite && exact, nFinite && exact
	if oFinite {
		d.finiteTightened(o, n, ov, eo)
	}
	if nFinite {
		d.finiteLoosened(o, n, nv, en)
	}
	skipT, skipL := d.skipT, d.skipL
	d.skipT, d.skipL = skipT || oFinite, skipL || nFinite
	if !d.skipT || !d.skipL {
		d.compareKeywords(o, n, eo, en)
	}
	d.skipT, d.skipL = skipT, skipL
}

func (d *differ) compareKeywords(o, n *jsonschema.Schema, eo, en embed) {
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
	switch {
	case o.Bool != nil && n.Bool != nil:
		if *o.Bool && !*n.Bool {
			d.tightened(n, "", "no value is allowed here any more", eo, anyValues())
		}
		if !*o.Bool && *n.Bool {
			d.loosened(n, "", "any value is allowed here now", en, anyValues())
		}
	case o.Bool != nil && !*o.Bool:
		d.loosened(n, "", "values are allowed here now", en, d.g.candidates(n, "", 0))
	case n.Bool != nil && !*n.Bool:
		d.tightened(n, "", "no value is allowed here any more", eo, d.g.candidates(o, "", 0))
	case o.Bool != nil:
		// true is the empty schema: compare keyword by keyword.
		d.compare(d.anySchema(ptr(o)), n, eo, en)
	default:
		d.compare(o, d.anySchema(ptr(n)), eo, en)
	}
}

func anyValues() []any {
	return []any{nil, true, json.Number("0"), json.Number("0.5"), "", "x", []any{}, []any{nil}, map[string]any{}, map[string]any{"a": nil}}
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

func valueKeyword(s *jsonschema.Schema) string {
	switch {
	case s.Const != nil:
		return "const"
	case s.Enum != nil:
		return "enum"
	}
	return ""
}

// finiteTightened decides, value by value, whether the new schema rejects
// one of the old schema's enumerated values.
func (d *differ) finiteTightened(o, n *jsonschema.Schema, ov []any, eo embed) {
	for _, v := range ov {
		if d.halted() {
			return
		}
		inO, errO := d.checkFinite(o, v)
		inN, errN := d.checkFinite(n, v)
		switch {
		case errO != nil || errN != nil:
			d.undecide(n, valueKeyword(n), fmt.Sprintf("whether value %s is still allowed could not be decided: %v", jsonText(v), errors.Join(errO, errN)))
		case inO && !inN:
			d.tightened(n, valueKeyword(n), fmt.Sprintf("value %s is no longer allowed", jsonText(v)), eo, []any{v})
		}
	}
}

// finiteLoosened decides whether the new schema accepts one of its
// enumerated values that the old rejected.
func (d *differ) finiteLoosened(o, n *jsonschema.Schema, nv []any, en embed) {
	for _, v := range nv {
		if d.halted() {
			return
		}
		inN, errN := d.checkFinite(n, v)
		inO, errO := d.checkFinite(o, v)
		switch {
		case errO != nil || errN != nil:
			d.undecide(n, valueKeyword(n), fmt.Sprintf("whether value %s is allowed now could not be decided: %v", jsonText(v), errors.Join(errN, errO)))
		case inN && !inO:
			d.loosened(n, valueKeyword(n), fmt.Sprintf("value %s is allowed now", jsonText(v)), en, []any{v})
		}
	}
}

// finiteSet is a schema's const and enum as a set of canonical keys,
// beside the schema without them: membership is a lookup, and only the
// other keywords are validated. An enum of n values is then compared in
// time linear in n, not n².
type finiteSet struct {
	keys map[string]bool // nil: no const or enum
	// exact is false when a value has no canonical key (a number with a
	// huge exponent): membership is then left to the validator.
	exact bool
	rest  *jsonschema.Schema
}

func (d *differ) finiteOf(s *jsonschema.Schema) *finiteSet {
	if f, ok := d.finite[s]; ok {
		return f
	}
	f := &finiteSet{rest: s, exact: true}
	if s.Const != nil || s.Enum != nil {
		rest := *s
		rest.Const, rest.Enum = nil, nil
		f.rest = &rest
		var enum map[string]bool
		if s.Enum != nil {
			enum = map[string]bool{}
			for _, v := range s.Enum.Values {
				k, ok := canonKey(v)
				f.exact = f.exact && ok
				enum[k] = true
			}
		}
		f.keys = enum
		if s.Const != nil {
			k, ok := canonKey(*s.Const)
			f.exact = f.exact && ok
			f.keys = map[string]bool{}
			if enum == nil || enum[k] {
				f.keys[k] = true
			}
		}
	}
	d.finite[s] = f
	return f
}

// checkFinite is check(s, v), with const and enum looked up by key.
func (d *differ) checkFinite(s *jsonschema.Schema, v any) (bool, error) {
	f := d.finiteOf(s)
	k, ok := canonKey(v)
	if f.keys == nil || !f.exact || !ok {
		return d.check(s, v)
	}
	if !f.keys[k] {
		return false, nil
	}
	return d.check(f.rest, v)
}

// canonKey is a JSON value's text in a form equal values share: numbers
// by value (1 and 1.0 alike), object members sorted. ok is false for a
// number whose exponent is too large to normalise cheaply.
func canonKey(v any) (key string, ok bool) {
	var b strings.Builder
	ok = writeCanon(&b, v)
	return b.String(), ok
}

func writeCanon(b *strings.Builder, v any) bool {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number:
		if i := strings.IndexAny(string(v), "eE"); i >= 0 {
			if e, err := strconv.Atoi(strings.TrimPrefix(string(v[i+1:]), "+")); err != nil || e > 400 || e < -400 {
				b.WriteString(string(v))
				return false
			}
		}
		r, ok := new(big.Rat).SetString(string(v))
		if !ok {
			b.WriteString(string(v))
			return false
		}
		b.WriteString(r.RatString())
	case float64:
		r := new(big.Rat)
		if r.SetFloat64(v) == nil {
			b.WriteString(fmt.Sprint(v))
			return false
		}
		b.WriteString(r.RatString())
	case string:
		b.WriteString(strconv.Quote(v))
	case []any:
		ok := true
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			ok = writeCanon(b, x) && ok
		}
		b.WriteByte(']')
		return ok
	case map[string]any:
		ks := keys(v)
		sort.Strings(ks)
		ok := true
		b.WriteByte('{')
		for i, k := range ks {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			ok = writeCanon(b, v[k]) && ok
		}
		b.WriteByte('}')
		return ok
	default:
		fmt.Fprintf(b, "%T:%v", v, v)
		return false
	}
	return true
}

// compareDynamic: $dynamicRef and $recursiveRef are resolved while
// validating, from the path the validator took; they are not compared,
// only searched for witnesses.
func (d *differ) compareDynamic(o, n *jsonschema.Schema, eo, en embed) {
	kw := ""
	var tc, lc []any
	for _, side := range []struct {
		s     *jsonschema.Schema
		cands *[]any
	}{{o, &tc}, {n, &lc}} {
		if side.s.DynamicRef != nil {
			kw = "$dynamicRef"
			*side.cands = append(*side.cands, d.g.candidates(side.s.DynamicRef.Ref, "", 0)...)
		}
		if side.s.RecursiveRef != nil {
			if kw == "" {
				kw = "$recursiveRef"
			}
			*side.cands = append(*side.cands, d.g.candidates(side.s.RecursiveRef, "", 0)...)
		}
	}
	if kw == "" {
		return
	}
	msg := kw + " is resolved while validating, from where the validator came: what it accepts was not compared"
	d.tightened(n, kw, msg, eo, append(tc, d.g.candidates(o, "", 0)...))
	d.loosened(n, kw, msg, en, append(lc, d.g.candidates(n, "", 0)...))
}

// size counts the values in a JSON value; a long string counts as many.
func size(v any) int {
	n := 1
	switch v := v.(type) {
	case string:
		n += len(v) / 64
	case map[string]any:
		for _, x := range v {
			n += size(x)
		}
	case []any:
		for _, x := range v {
			n += size(x)
		}
	}
	return n
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// tooBig reports whether a JSON value has a string, an array or an object
// with more than maxWitness characters, items or properties, or nests
// deeper than that.
func tooBig(v any) bool { return tooBigAt(v, 0) }

func tooBigAt(v any, depth int) bool {
	if depth > maxWitness {
		return true
	}
	switch v := v.(type) {
	case string:
		return longString(v)
	case []any:
		if len(v) > maxWitness {
			return true
		}
		for _, x := range v {
			if tooBigAt(x, depth+1) {
				return true
			}
		}
	case map[string]any:
		if len(v) > maxWitness {
			return true
		}
		for k, x := range v {
			if longString(k) || tooBigAt(x, depth+1) {
				return true
			}
		}
	}
	return false
}

// longString reports whether s has more than maxWitness characters.
func longString(s string) bool {
	return len(s) > maxWitness && utf8.RuneCountInString(s) > maxWitness
}
