package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// none is the group of lines that do not name a client.
const none = "(none)"

// extractor turns a log line into the document to validate and its group.
type extractor struct {
	format  string
	field   []string // path to the document (jsonl)
	param   string   // the raw --field: the parameter (access), or for messages
	group   []string // path to the group (jsonl)
	groupBy string   // the raw --group-by: a parameter or log field (access)
	groupRe *regexp.Regexp
}

func newExtractor(opt Options) (*extractor, error) {
	ex := &extractor{format: opt.Format, groupBy: opt.GroupBy, param: opt.Field}
	if opt.Field != "" {
		ex.field = splitPath(opt.Field)
	}
	if opt.GroupBy != "" {
		if re, ok := strings.CutPrefix(opt.GroupBy, "re:"); ok {
			r, err := regexp.Compile(re)
			if err != nil {
				return nil, errkind.New(errkind.Invalid, "--group-by %q: invalid regular expression: %v", opt.GroupBy, err)
			}
			if r.NumSubexp() < 1 {
				return nil, errkind.New(errkind.Invalid, "--group-by %q: the regular expression needs a capture group, such as partner=(\\w+)", opt.GroupBy)
			}
			ex.groupRe = r
		} else {
			ex.group = splitPath(opt.GroupBy)
		}
	}
	return ex, nil
}

// splitPath splits a dotted path ("where.name") or a JSON pointer ("/where/name").
func splitPath(p string) []string {
	if strings.HasPrefix(p, "/") {
		parts := strings.Split(p[1:], "/")
		for i, s := range parts {
			parts[i] = strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
		}
		return parts
	}
	return strings.Split(p, ".")
}

// located is a line's document, found but not yet decoded.
type located struct {
	// raw is the document's text (JSON), or the query string (access); it
	// identifies the document for the memo of verdicts.
	raw []byte
	// doc is set when locating already decoded it.
	doc     any
	decoded bool
	// jsonString is set when raw is a JSON string that holds JSON.
	jsonString bool
	// readable is set when the line is valid JSON (jsonl) or an access log
	// line, whether or not it holds the field.
	readable bool
	group    string
	// groupLooked is set when --group-by was looked for in the line, and
	// groupFound when it named something there.
	groupLooked, groupFound bool
}

// missingError is a readable line without the --field.
type missingError struct{ what string }

func (e *missingError) Error() string { return e.what + " is missing" }

// locate finds the document and the group of a line; a line that cannot
// be read is an error: errTooDeep, a *missingError or another.
func (ex *extractor) locate(line []byte) (located, error) {
	loc := located{group: none}
	if ex.groupRe != nil {
		loc.groupLooked = true
		if m := ex.groupRe.FindSubmatch(line); m != nil {
			loc.group, loc.groupFound = string(m[1]), true
		}
	}
	if ex.format == Access {
		err := ex.extractAccess(line, &loc)
		return loc, err
	}
	var paths [][]string
	if ex.field != nil {
		paths = append(paths, ex.field)
	}
	if ex.group != nil {
		paths = append(paths, ex.group)
	}
	spans, err := scanSpans(line, paths)
	if err != nil {
		if errors.Is(err, errTooDeep) {
			return loc, err
		}
		// encoding/json words the error the way users know.
		var v any
		if jerr := unmarshal(line, &v); jerr != nil {
			return loc, fmt.Errorf("invalid JSON: %v", jerr)
		}
		return loc, err
	}
	loc.readable = true
	if ex.group != nil {
		span := spans[len(spans)-1]
		loc.groupLooked, loc.groupFound = true, span != nil
		loc.group = spanKey(span)
	}
	loc.raw = line
	if ex.field != nil {
		if spans[0] == nil {
			return loc, &missingError{"field " + ex.param}
		}
		loc.raw = spans[0]
		loc.jsonString = loc.raw[0] == '"'
	}
	return loc, nil
}

// spanKey is a group name from the raw JSON of its value.
// MaxGroupKey is the longest client name kept whole: a longer one is cut,
// with its length and a hash so that two long names stay apart, and the
// memory and output per client stay small.
const MaxGroupKey = 256

func boundKey(k string) string {
	if len(k) <= MaxGroupKey {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return fmt.Sprintf("%s…(%d bytes, sha256 %x)", truncUTF8(k, 200), len(k), sum[:6])
}

// truncUTF8 is the longest prefix of s of at most n bytes that does not
// cut a character.
func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func spanKey(span []byte) string {
	if span == nil || string(span) == "null" {
		return none
	}
	if span[0] == '"' {
		// Decoded as encoding/json decodes it: escapes, and invalid UTF-8
		// replaced with U+FFFD.
		if bytes.IndexByte(span, '\\') < 0 && utf8.Valid(span) {
			return string(span[1 : len(span)-1])
		}
		var s string
		if json.Unmarshal(span, &s) == nil {
			return s
		}
	}
	return string(span)
}

// decode returns the located document as a Go value for the validator.
func (ex *extractor) decode(loc located) (any, error) {
	if loc.decoded {
		return loc.doc, nil
	}
	var v any
	if err := unmarshal(loc.raw, &v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	// A logged request body is often a JSON string holding JSON.
	if s, isStr := v.(string); isStr && loc.jsonString {
		if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			var inner any
			if err := unmarshal([]byte(t), &inner); err != nil {
				if _, serr := scanSpans([]byte(t), nil); errors.Is(serr, errTooDeep) {
					return nil, fmt.Errorf("field %s holds JSON %w", ex.param, errTooDeep)
				}
				return nil, fmt.Errorf("field %s holds invalid JSON: %v", ex.param, err)
			}
			v = inner
		}
	}
	return v, nil
}

// accessLine matches the common and combined log formats:
// host ident user [time] "METHOD target PROTO" status bytes ["referer" "agent"]
var accessLine = regexp.MustCompile(`^(\S+) (\S+) (\S+) \[([^\]]*)\] "(\S+) (\S+)(?: [^"]*)?" (\d{3}|-) (\S+)(?: "((?:[^"\\]|\\.)*)" "((?:[^"\\]|\\.)*)")?`)

var accessFields = map[string]int{"host": 1, "ident": 2, "user": 3, "time": 4, "method": 5, "path": 6, "status": 7, "bytes": 8, "referer": 9, "agent": 10}

func (ex *extractor) extractAccess(line []byte, loc *located) error {
	m := accessLine.FindSubmatch(line)
	if m == nil {
		return fmt.Errorf("not a common or combined log line")
	}
	target := string(m[6])
	path, rawQuery, _ := strings.Cut(target, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return fmt.Errorf("invalid query string: %v", err)
	}
	loc.readable = true
	if ex.groupRe == nil && ex.groupBy != "" {
		loc.groupLooked = true
		if i, ok := accessFields[ex.groupBy]; ok {
			if i == 6 {
				loc.group, loc.groupFound = path, true
			} else if v := string(m[i]); v != "" && v != "-" {
				loc.group, loc.groupFound = v, true
			}
		} else if v, ok := q[ex.groupBy]; ok && len(v) > 0 {
			loc.group, loc.groupFound = v[0], true
		}
	}
	doc := map[string]any{}
	for k, vs := range q {
		if ex.param != "" && k != ex.param {
			continue
		}
		arr := make([]any, len(vs))
		for i, v := range vs {
			if arr[i], err = queryValue(v); err != nil {
				return fmt.Errorf("query parameter %s: %w", k, err)
			}
		}
		if len(arr) == 1 {
			doc[k] = arr[0]
		} else {
			doc[k] = arr
		}
	}
	loc.decoded = true
	if ex.param == "" {
		loc.doc = doc
		return nil
	}
	v, ok := doc[ex.param]
	if !ok {
		return &missingError{"query parameter " + ex.param}
	}
	loc.doc = v
	return nil
}

// unmarshal decodes data as encoding/json does, but numbers exactly (a
// json.Number, as the validator reads them): 10000000000000001 stays
// itself instead of rounding to 1e16, and 1e400 is a number, not an
// error. Trailing data after the value is an error, as for json.Unmarshal.
func unmarshal(data []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return fmt.Errorf("invalid character after top-level value")
		}
		return err
	}
	return nil
}

// queryValue is a query parameter's value: JSON when it parses as JSON
// (where={"name":"x"} is an object), else the string. JSON nested too deep
// to decode is an error, not a string.
func queryValue(s string) (any, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return s, nil
	}
	switch t[0] {
	case '{', '[', '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 't', 'f', 'n':
		var v any
		if unmarshal([]byte(t), &v) == nil {
			return v, nil
		}
		if _, err := scanSpans([]byte(t), nil); errors.Is(err, errTooDeep) {
			return nil, err
		}
	}
	return s, nil
}
