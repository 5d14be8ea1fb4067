// Package schemadiff compares two JSON Schemas: what the new one rejects
// that the old one accepted (tightened: a breaking change for the API's
// clients) and what it accepts that the old one rejected (loosened). Each
// finding carries a witness, a concrete JSON instance that shows the
// difference, and every witness is checked with the real validator against
// both schemas before it is reported. What cannot be decided is reported
// as unknown, never as compatible.
package schemadiff

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/dlclark/regexp2/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/jsonfile"
)

// Schema is a compiled schema with its source.
type Schema struct {
	Name     string
	Compiled *jsonschema.Schema
	Doc      any

	cost *costModel
}

// Validate reports whether instance is valid. An instance that could not
// be decided is invalid, with an error that says why: a pattern took
// longer than MatchTimeout to match (a *MatchTimeoutError), or the
// validation would cost more than MaxEvaluations (a *CostError). Use Check
// to tell those apart.
func (s *Schema) Validate(instance any) error {
	if err := s.bounded(instance); err != nil {
		return err
	}
	return validate(s.Compiled, instance)
}

// Check reports whether instance is valid; err is set, and ok meaningless,
// when that could not be decided: a pattern took longer than MatchTimeout,
// or the validation would cost more than MaxEvaluations.
func (s *Schema) Check(instance any) (ok bool, err error) {
	if err := s.bounded(instance); err != nil {
		return false, err
	}
	return check(s.Compiled, instance)
}

// Undecided reports whether err, from Validate, says that validity was
// not decided (a pattern's timeout or the cost bound) rather than that the
// instance is invalid.
func Undecided(err error) bool {
	var te *MatchTimeoutError
	var ce *CostError
	var he *HugeNumberError
	return errors.As(err, &te) || errors.As(err, &ce) || errors.As(err, &he)
}

// bounded is a *CostError when validating instance could cost more than
// MaxEvaluations.
func (s *Schema) bounded(instance any) error {
	if s.cost == nil {
		return nil
	}
	if n := s.cost.evaluations(s.Compiled, instance); n > MaxEvaluations {
		return &CostError{Evaluations: n}
	}
	return nil
}

// validate runs the validator, turning a pattern's timeout into an error.
func validate(c *jsonschema.Schema, instance any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			te, isTimeout := r.(*MatchTimeoutError)
			if !isTimeout {
				panic(r)
			}
			err = te
		}
	}()
	return c.Validate(instance)
}

func check(c *jsonschema.Schema, instance any) (bool, error) {
	err := validate(c, instance)
	if te := (*MatchTimeoutError)(nil); errors.As(err, &te) {
		return false, err
	}
	return err == nil, nil
}

// check is check within the cost bound: a validation that could cost more
// than MaxEvaluations is not run (a *CostError), and its cost bound counts
// toward the comparison's work.
func (d *differ) check(c *jsonschema.Schema, instance any) (bool, error) {
	if d.halted() {
		return false, errStopped
	}
	n := d.cost.evaluations(c, instance)
	if n > MaxEvaluations {
		d.costly = true
		return false, &CostError{Evaluations: n}
	}
	d.evaluations += n
	return check(c, instance)
}

// errStopped is a validation not run because the comparison stopped.
var errStopped = errors.New("the comparison stopped before this was decided")

// valid reports whether instance is valid, false when that could not be
// decided: for proposing candidates, which are checked again before use.
func (d *differ) valid(c *jsonschema.Schema, instance any) bool {
	ok, _ := d.check(c, instance)
	return ok
}

// MatchTimeout is the longest one pattern may take to match one string.
const MatchTimeout = 2 * time.Second

// MatchTimeoutError is a pattern that took longer than MatchTimeout to
// match a string: whether the instance is valid was not decided.
type MatchTimeoutError struct{ Pattern string }

func (e *MatchTimeoutError) Error() string {
	return fmt.Sprintf("pattern %q took longer than %s to match: not decided", e.Pattern, MatchTimeout)
}

// ecmaRegexp is a pattern compiled as ECMA-262 specifies (as JSON Schema
// asks), with a match timeout.
type ecmaRegexp struct{ re *regexp2.Regexp }

// stopMatching is set once the process is interrupted: every pattern
// match from then on ends at once, undecided, so that a validation with
// many slow matches (each bounded by MatchTimeout) stops at the next one.
var stopMatching atomic.Bool

// StopMatchingWhenDone ends every pattern match of the process, undecided,
// once ctx is done: for a command's context, cancelled by Ctrl-C.
func StopMatchingWhenDone(ctx context.Context) {
	go func() {
		<-ctx.Done()
		stopMatching.Store(true)
	}()
}

func compileECMA(pattern string) (jsonschema.Regexp, error) {
	re, err := regexp2.Compile(pattern, regexp2.ECMAScript)
	if err != nil {
		return nil, err
	}
	re.MatchTimeout = MatchTimeout
	return ecmaRegexp{re}, nil
}

func (e ecmaRegexp) String() string { return e.re.String() }

// MatchString reports whether s contains a match. The validator's
// interface has no room for an error: a timeout unwinds to Check, the one
// caller of the validator, which turns it into an error.
func (e ecmaRegexp) MatchString(s string) bool {
	if stopMatching.Load() {
		panic(&MatchTimeoutError{Pattern: e.re.String()})
	}
	ok, err := e.re.MatchString(s)
	if err != nil {
		panic(&MatchTimeoutError{Pattern: e.re.String()})
	}
	return ok
}

// LoadContext is Load that returns ctx's error as soon as ctx is done.
// Compiling cannot be interrupted: it goes on in the background until it
// ends (bounded by MaxDepth and MaxObjects), and its result is dropped.
func LoadContext(ctx context.Context, name string, data []byte) (*Schema, error) {
	type loaded struct {
		s   *Schema
		err error
	}
	done := make(chan loaded, 1)
	go func() {
		s, err := Load(name, data)
		done <- loaded{s, err}
	}()
	select {
	case l := <-done:
		return l.s, l.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Load compiles the schema document data; name names it in errors (a file
// path or REPO@REF:path). Invalid JSON and invalid schemas are Invalid
// errors with the position and reason.
func Load(name string, data []byte) (*Schema, error) {
	if depth, objects := jsonShape(data); depth > MaxDepth {
		return nil, errkind.Wrap(errkind.Invalid, &TooBigError{Name: name,
			Reason: fmt.Sprintf("objects and arrays nested more than %d levels deep (cascade reads schemas of up to %d levels and %d objects)", MaxDepth, MaxDepth, MaxObjects)})
	} else if objects > MaxObjects {
		return nil, errkind.Wrap(errkind.Invalid, &TooBigError{Name: name,
			Reason: fmt.Sprintf("more than %d objects (cascade reads schemas of up to %d levels and %d objects)", MaxObjects, MaxDepth, MaxObjects)})
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(data, max(se.Offset-1, 0))
			return nil, errkind.New(errkind.Invalid, "%s:%d:%d: invalid JSON: %v", name, line, col, se)
		}
		return nil, errkind.New(errkind.Invalid, "%s: invalid JSON: %v", name, err)
	}
	if err := jsonfile.CheckKeys(name, data); err != nil {
		return nil, err
	}
	if where, ok := HugeNumber(doc); ok {
		return nil, errkind.Wrap(errkind.Invalid, &TooBigError{Name: name, Reason: (&HugeNumberError{Where: where}).what()})
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	// An API's formats are assertions: a client sending a malformed date
	// gets an error.
	c.AssertFormat()
	c.UseRegexpEngine(compileECMA)
	url := "file:///" + strings.TrimLeft(strings.NewReplacer(" ", "%20", "#", "%23", "?", "%3F").Replace(name), "/")
	if err := c.AddResource(url, doc); err != nil {
		return nil, errkind.New(errkind.Invalid, "%s: %v", name, err)
	}
	// Remote references cannot be fetched: compare self-contained schemas.
	c.UseLoader(noLoader{})
	sch, err := c.Compile(url)
	if err != nil {
		msg := strings.ReplaceAll(err.Error(), url, name)
		return nil, errkind.New(errkind.Invalid, "%s: invalid schema: %s", name, msg)
	}
	clampCounts(sch, doc)
	return &Schema{Name: name, Compiled: sch, Doc: doc, cost: newCostModel(sch)}, nil
}

// maxCount is the largest count (minLength, maxItems, ...) kept as
// written: no instance cascade reads comes near it, and arithmetic on it
// cannot overflow.
const maxCount = 1 << 40

// clampCounts sets every count keyword larger than maxCount to maxCount.
// The validator reads counts into an int and keeps only the low bits of a
// bigger one (maxLength 1e20 becomes an arbitrary number, 2^64+1 becomes
// 1); the document has the value as written.
func clampCounts(root *jsonschema.Schema, doc any) {
	base, _, _ := strings.Cut(root.Location, "#")
	seen := map[*jsonschema.Schema]bool{root: true}
	queue := []*jsonschema.Schema{root}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		// Only schemas located in the document by pointer: one with its own
		// $id is found by URL, and left as the validator read it.
		loc, _, _ := strings.Cut(s.Location, "#")
		if obj, ok := docAt(doc, s.Location).(map[string]any); ok && loc == base {
			for kw, p := range map[string]**int{"minLength": &s.MinLength, "maxLength": &s.MaxLength,
				"minItems": &s.MinItems, "maxItems": &s.MaxItems, "minProperties": &s.MinProperties,
				"maxProperties": &s.MaxProperties, "minContains": &s.MinContains, "maxContains": &s.MaxContains} {
				if *p == nil {
					continue
				}
				if n, ok := obj[kw].(json.Number); ok {
					// The value the validator read (its low bits) tells
					// that this is the keyword it compiled.
					if r, ok := new(big.Rat).SetString(string(n)); ok && r.IsInt() && r.Cmp(big.NewRat(maxCount, 1)) > 0 &&
						**p == int(r.Num().Int64()) {
						v := maxCount
						*p = &v
					}
				}
			}
		}
		for _, c := range children(s) {
			if !seen[c] {
				seen[c] = true
				queue = append(queue, c)
			}
		}
	}
}

// docAt is the value at a compiled schema's location (URL#pointer) in doc.
func docAt(doc any, location string) any {
	_, frag, _ := strings.Cut(location, "#")
	if frag == "" {
		return doc
	}
	v := doc
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		if t, err := url.PathUnescape(tok); err == nil {
			tok = t
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			v = x[tok]
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// Limits on a schema document. The validator's work to compile a schema
// grows with the cube of its depth (checking it against the meta-schema)
// and the square of its subschemas (its work queue): beyond these, it
// would take minutes and is not compiled.
const (
	// MaxDepth is how deeply a schema may nest objects and arrays (about
	// half as many levels of subschemas).
	MaxDepth = 512
	// MaxObjects is how many objects a schema may hold.
	MaxObjects = 20000
)

// TooBigError is a schema document beyond MaxDepth or MaxObjects.
type TooBigError struct {
	Name   string
	Reason string
}

func (e *TooBigError) Error() string {
	return fmt.Sprintf("%s: %s: not compiled", e.Name, e.Reason)
}

// NotCompared is the result of a comparison that could not start because
// a schema is too big to compile: one unknown finding, so breaking. ok is
// false for any other error.
func NotCompared(err error) (r Result, ok bool) {
	var te *TooBigError
	if !errors.As(err, &te) {
		return Result{}, false
	}
	return Result{Breaking: true, Tightened: []Finding{}, Loosened: []Finding{},
		Unknown: []Finding{{Path: "", Message: te.Error() + ": not compared"}}}, true
}

// jsonShape is the deepest nesting of objects and arrays in data (counted
// up to MaxDepth+1) and the number of objects (strings skipped; the JSON
// is not otherwise checked).
func jsonShape(data []byte) (deepest, objects int) {
	depth := 0
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if c == '{' {
				objects++
			}
			depth++
			if depth > deepest {
				deepest = depth
				if deepest > MaxDepth {
					return deepest, objects
				}
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest, objects
}

// Limits on a number in a schema: 1e999999 is exact for the validator (a
// million digits), and every comparison with it, every witness built next
// to it and every line that prints one grows with its digits. No API
// bounds a value with more than a few hundred digits.
const (
	maxNumberDigits   = 400
	maxNumberExponent = 400
)

// HugeNumberError is a number beyond maxNumberDigits or
// maxNumberExponent in an instance: its validity was not decided.
type HugeNumberError struct{ Where string }

func (e *HugeNumberError) what() string {
	return fmt.Sprintf("a number at %s has more than %d digits or an exponent beyond ±%d", e.Where, maxNumberDigits, maxNumberExponent)
}

func (e *HugeNumberError) Error() string { return e.what() + ": not decided" }

// HugeNumber finds a json.Number beyond maxNumberDigits or
// maxNumberExponent in doc (a decoded document or schema), and says where
// (a JSON pointer, or "the root").
func HugeNumber(doc any) (string, bool) { return hugeNumber(doc, "") }

func hugeNumber(doc any, at string) (string, bool) {
	switch x := doc.(type) {
	case json.Number:
		s := string(x)
		mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
		digits := strings.Count(mant, "") - 1 - strings.Count(mant, ".") - strings.Count(mant, "-")
		if digits > maxNumberDigits {
			return orRoot(at), true
		}
		if exp != "" {
			e, err := strconv.Atoi(exp)
			if err != nil || e > maxNumberExponent || e < -maxNumberExponent {
				return orRoot(at), true
			}
		}
	case map[string]any:
		for k, v := range x {
			if w, ok := hugeNumber(v, at+"/"+strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")); ok {
				return w, true
			}
		}
	case []any:
		for i, v := range x {
			if w, ok := hugeNumber(v, at+"/"+strconv.Itoa(i)); ok {
				return w, true
			}
		}
	}
	return "", false
}

func orRoot(at string) string {
	if at == "" {
		return "the root"
	}
	return at
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("cannot load %s: schema-diff compares self-contained schemas (local $ref and $defs)", url)
}

func position(data []byte, off int64) (line, col int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	before := data[:off]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}
