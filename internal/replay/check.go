package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/plural"
)

// What a replay's counts can vouch for: a replay in which no line could be
// read checked nothing, and a --group-by that named no line grouped
// nothing. The messages say what to fix, from the first readable line.

// check sets the report's warnings and its NothingChecked error.
func (r *Report) check(opt Options) {
	r.Warnings = []string{}
	if opt.GroupBy != "" && r.groupLooked > 0 && r.GroupMissing == r.groupLooked {
		msg := fmt.Sprintf("--group-by %s matched %s: every request is counted under %s", opt.GroupBy, r.linesLooked(), none)
		if hint := r.hint(opt, opt.GroupBy, true); hint != "" {
			msg += "; " + hint
		}
		r.Warnings = append(r.Warnings, msg)
	}
	if r.groupsCapped {
		r.Warnings = append(r.Warnings, fmt.Sprintf("--group-by %s named more than %d clients: the lines of the clients met after the first %d are counted together under %s", opt.GroupBy, MaxGroups, MaxGroups, otherGroups))
	}
	if r.Documents > 0 {
		return
	}
	var msg string
	switch {
	case r.Total == 0:
		msg = fmt.Sprintf("%s no lines: nothing was checked", holds(r.files))
	case r.MissingField > 0 && r.MissingField == r.readable:
		msg = fmt.Sprintf("--field %s matched %s", opt.Field, noneOf(r.Total, "line"))
		if other := r.unreadableParts(opt, false); other != "" {
			msg += " (" + other + ")"
		}
		msg += ": nothing was checked"
		if hint := r.hint(opt, opt.Field, false); hint != "" {
			msg += "; " + hint
		}
	default:
		msg = fmt.Sprintf("none of the %s could be read as a request (%s): nothing was checked", count(r.Total, "line"), r.unreadableParts(opt, true))
		if len(r.ParseErrorExamples) > 0 {
			e := r.ParseErrorExamples[0]
			msg += fmt.Sprintf("; the first: %s:%d: %s", e.File, e.Line, e.Error)
		}
	}
	r.Warnings = append(r.Warnings, msg)
	r.nothingChecked = errkind.New(errkind.Invalid, "%s", msg)
}

// linesLooked is the lines --group-by was looked for in.
func (r *Report) linesLooked() string {
	if r.groupLooked == r.Total {
		return noneOf(r.Total, "line")
	}
	return noneOf(r.groupLooked, "readable line")
}

// noneOf is "none of the 1,204 lines", or "no line (of 1)".
func noneOf(n int64, noun string) string {
	if n == 1 {
		return "no " + noun + " (of 1)"
	}
	return "none of the " + count(n, noun)
}

// unreadableParts counts the unreadable lines by cause; with missing, the
// lines without the field too.
func (r *Report) unreadableParts(opt Options, missing bool) string {
	syntax := r.ParseErrors - r.TooLong - r.TooDeep - r.MissingField - r.Undecided
	invalid := "not valid JSON"
	if opt.Format == Access {
		invalid = "not an access log line"
	}
	var parts []string
	for _, p := range []struct {
		n    int64
		what string
	}{
		{syntax, invalid},
		{r.TooLong, "too long"},
		{r.TooDeep, "nested too deep"},
		{r.Undecided, "not decided by the validator (too costly to validate)"},
	} {
		if p.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", commas(p.n), p.what))
		}
	}
	if missing && r.MissingField > 0 {
		parts = append(parts, fmt.Sprintf("%s without the field %s", commas(r.MissingField), opt.Field))
	}
	return strings.Join(parts, ", ")
}

// hint says what the first readable line holds where path was looked for.
func (r *Report) hint(opt Options, path string, group bool) string {
	if r.sampleLine == nil {
		return ""
	}
	at := fmt.Sprintf("%s:%d", r.sample.File, r.sample.Line)
	if opt.Format == Access {
		if group && strings.HasPrefix(path, "re:") {
			return "check the regular expression against " + at
		}
		if _, ok := accessFields[path]; ok && group {
			return fmt.Sprintf("%s is empty or - in every line (referer and agent are in the combined format only)", path)
		}
		names := queryNames(r.sampleLine)
		if len(names) == 0 {
			return "check the parameter name: " + at + " has no query parameters"
		}
		what := "parameter name"
		if group {
			what = "parameter or log field name"
		}
		return fmt.Sprintf("check the %s: the query parameters of %s are %s", what, at, listNames(names))
	}
	if group && strings.HasPrefix(path, "re:") {
		return "check the regular expression against " + at
	}
	p := splitPath(path)
	// The deepest part of the path that the line has.
	prefixes := make([][]string, len(p))
	for i := range p {
		prefixes[i] = p[:i]
	}
	spans, err := scanSpans(r.sampleLine, prefixes)
	if err != nil {
		return ""
	}
	depth := 0
	for i := len(spans) - 1; i >= 0; i-- {
		if spans[i] != nil {
			depth = i
			break
		}
	}
	span := spans[depth]
	if span[0] == '{' {
		keys := "none (an empty object)"
		if k := objectKeys(span); len(k) > 0 {
			keys = listNames(k)
		}
		if depth == 0 {
			return fmt.Sprintf("check the path: the top-level keys of %s are %s", at, keys)
		}
		return fmt.Sprintf("check the path: %s in %s has no key %s; its keys are %s", strings.Join(p[:depth], "."), at, p[depth], keys)
	}
	switch span[0] {
	case '[':
		if depth == 0 {
			return fmt.Sprintf("check the path: %s is a JSON array, not an object", at)
		}
		return fmt.Sprintf("check the path: %s in %s is an array (index it by number)", strings.Join(p[:depth], "."), at)
	}
	if depth == 0 {
		return fmt.Sprintf("check the path: %s is not a JSON object", at)
	}
	return fmt.Sprintf("check the path: %s in %s is not an object", strings.Join(p[:depth], "."), at)
}

// objectKeys are the keys of a JSON object, in order; span is valid JSON.
func objectKeys(span []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(span))
	if _, err := dec.Token(); err != nil {
		return nil
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return keys
		}
		k, _ := tok.(string)
		keys = append(keys, k)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return keys
		}
	}
	return keys
}

// queryNames are the query parameters of an access log line, sorted.
func queryNames(line []byte) []string {
	m := accessLine.FindSubmatch(line)
	if m == nil {
		return nil
	}
	_, rawQuery, _ := strings.Cut(string(m[6]), "?")
	q, _ := url.ParseQuery(rawQuery)
	names := make([]string, 0, len(q))
	for k := range q {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// listNames lists names, quoting those that need it, the first 12 only.
func listNames(names []string) string {
	const most = 12
	var b strings.Builder
	for i, n := range names {
		if i == most {
			fmt.Fprintf(&b, ", and %d more", len(names)-most)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		if n == "" || strings.ContainsAny(n, " ,.\"\\") || strconv.Quote(n) != `"`+n+`"` {
			b.WriteString(strconv.Quote(n))
		} else {
			b.WriteString(n)
		}
	}
	return b.String()
}

// holds is "FILE holds" or "the logs (A and B) hold".
func holds(files []string) string {
	switch len(files) {
	case 0:
		return "the input holds"
	case 1:
		return files[0] + " holds"
	}
	return "the logs " + strings.Join(files, ", ") + " hold"
}

// count is "1 line" or "1,204 lines".
func count(n int64, noun string) string {
	return commas(n) + " " + plural.Noun(n, noun)
}

// commas writes n with thousands separators: 1204 is 1,204.
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
