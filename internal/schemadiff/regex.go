package schemadiff

import (
	"regexp/syntax"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// Patterns are ECMA-262 regular expressions, compiled by the validator
// with regexp2 and matched anywhere in the string. cascade analyses them
// with Go's regexp/syntax where the two dialects agree (see portable).
// Whether every string one pattern matches is matched by another is not
// decided in general; two cases are: the same expression written two ways,
// and a pattern anchored at both ends that matches few enough strings to
// try every one.

// maxLanguage is the most strings a pattern may match for them all to be
// tried.
const maxLanguage = 1 << 15

// portable reports whether Go's regexp/syntax reads the pattern as
// ECMA-262 does: it parses, and uses nothing whose meaning differs
// between the two (Go's flags, named groups and POSIX classes, \s and \S,
// which ECMA-262 extends to Unicode spaces, \p classes, \Q...\E, \A, \z,
// \C and \x{...}).
func portable(p string) bool {
	for _, bad := range []string{"(?", "[:", `\s`, `\S`, `\p`, `\P`, `\Q`, `\E`, `\A`, `\z`, `\C`, `\x{`} {
		if strings.Contains(p, bad) {
			return false
		}
	}
	_, err := syntax.Parse(p, syntax.Perl)
	return err == nil
}

func parsePattern(p string) (*syntax.Regexp, bool) {
	if !portable(p) {
		return nil, false
	}
	re, err := syntax.Parse(p, syntax.Perl)
	if err != nil {
		return nil, false
	}
	return re.Simplify(), true
}

// sameRegexp reports whether two patterns parse to the same expression
// (\d and [0-9], for example).
func sameRegexp(a, b string) bool {
	ra, ok := parsePattern(a)
	if !ok {
		return false
	}
	rb, ok := parsePattern(b)
	return ok && ra.Equal(rb)
}

// patternIncluded reports whether every string the pattern a matches
// ("" for no pattern: every string) is matched by b, when that can be
// shown.
func (d *differ) patternIncluded(a string, b jsonschema.Regexp) bool {
	if a == "" || b == nil {
		return false
	}
	lang, ok := d.languages[a]
	if !ok {
		lang, ok = finiteLanguage(a)
		if !ok {
			lang = nil
		}
		d.languages[a] = lang
	}
	if lang == nil {
		return false
	}
	for _, s := range lang {
		if !b.MatchString(s) {
			return false
		}
	}
	return true
}

// finiteLanguage lists every string the pattern matches, when it is
// anchored at both ends (^...$, no multi-line flag) and matches at most
// maxLanguage strings built from literals, classes, alternations and
// bounded repetitions.
func finiteLanguage(p string) ([]string, bool) {
	re, ok := parsePattern(p)
	if !ok || re.Op != syntax.OpConcat || len(re.Sub) < 2 ||
		re.Sub[0].Op != syntax.OpBeginText || re.Sub[len(re.Sub)-1].Op != syntax.OpEndText {
		return nil, false
	}
	inner := &syntax.Regexp{Op: syntax.OpConcat, Sub: re.Sub[1 : len(re.Sub)-1]}
	return language(inner)
}

func language(re *syntax.Regexp) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch:
		return []string{""}, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(out) >= maxLanguage {
					return nil, false
				}
				if utf8.ValidRune(r) {
					out = append(out, string(r))
				}
			}
		}
		return out, true
	case syntax.OpCapture:
		return language(re.Sub[0])
	case syntax.OpQuest:
		sub, ok := language(re.Sub[0])
		if !ok {
			return nil, false
		}
		return union([]string{""}, sub)
	case syntax.OpRepeat:
		if re.Max < 0 {
			return nil, false
		}
		sub, ok := language(re.Sub[0])
		if !ok {
			return nil, false
		}
		var out []string
		cur := []string{""}
		for k := 0; k <= re.Max; k++ {
			if k >= re.Min {
				if out, ok = union(out, cur); !ok {
					return nil, false
				}
			}
			if k < re.Max {
				if cur, ok = product(cur, sub); !ok {
					return nil, false
				}
			}
		}
		return out, true
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			l, ok := language(sub)
			if !ok {
				return nil, false
			}
			if out, ok = product(out, l); !ok {
				return nil, false
			}
		}
		return out, true
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			l, ok := language(sub)
			if !ok {
				return nil, false
			}
			if out, ok = union(out, l); !ok {
				return nil, false
			}
		}
		return out, true
	}
	// Stars, plus, any character, anchors and word boundaries inside:
	// infinite or not listed.
	return nil, false
}

func union(a, b []string) ([]string, bool) {
	if len(a)+len(b) > maxLanguage {
		return nil, false
	}
	return append(append([]string{}, a...), b...), true
}

func product(a, b []string) ([]string, bool) {
	if len(a)*len(b) > maxLanguage {
		return nil, false
	}
	out := make([]string, 0, len(a)*len(b))
	for _, x := range a {
		for _, y := range b {
			out = append(out, x+y)
		}
	}
	return out, true
}
