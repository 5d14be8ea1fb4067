package replay

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// none is the group of lines that do not name a client.
const none = "(none)"

// extractor turns a log line into the document to validate and its group.
type extractor struct {
	format  string
	field   []string // path to the document (jsonl), or a parameter (access)
	group   []string // path to the group (jsonl)
	groupBy string   // the raw --group-by (access)
	groupRe *regexp.Regexp
}

func newExtractor(opt Options) (*extractor, error) {
	ex := &extractor{format: opt.Format, groupBy: opt.GroupBy}
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

func lookup(v any, path []string) (any, bool) {
	for _, k := range path {
		switch c := v.(type) {
		case map[string]any:
			x, ok := c[k]
			if !ok {
				return nil, false
			}
			v = x
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func groupKey(v any, ok bool) string {
	if !ok || v == nil {
		return none
	}
	if s, isStr := v.(string); isStr {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
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
	group      string
}

// locate finds the document and the group of a line; a line that cannot
// be read is an error.
func (ex *extractor) locate(line []byte) (located, error) {
	if ex.format == Access {
		doc, group, err := ex.extractAccess(line)
		return located{doc: doc, decoded: true, group: group}, err
	}
	loc := located{group: none}
	if ex.groupRe != nil {
		if m := ex.groupRe.FindSubmatch(line); m != nil {
			loc.group = string(m[1])
		}
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
		// encoding/json words the error the way users know.
		var v any
		if jerr := json.Unmarshal(line, &v); jerr != nil {
			return loc, fmt.Errorf("invalid JSON: %v", jerr)
		}
		return loc, err
	}
	k := 0
	loc.raw = line
	if ex.field != nil {
		if spans[0] == nil {
			if ex.group != nil {
				loc.group = spanKey(spans[1])
			}
			return loc, fmt.Errorf("field %s is missing", strings.Join(ex.field, "."))
		}
		loc.raw = spans[0]
		k = 1
		loc.jsonString = loc.raw[0] == '"'
	}
	if ex.group != nil {
		loc.group = spanKey(spans[k])
	}
	return loc, nil
}

// spanKey is a group name from the raw JSON of its value.
func spanKey(span []byte) string {
	if span == nil || string(span) == "null" {
		return none
	}
	if span[0] == '"' {
		if bytes.IndexByte(span, '\\') < 0 {
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
	if err := json.Unmarshal(loc.raw, &v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	// A logged request body is often a JSON string holding JSON.
	if s, isStr := v.(string); isStr && loc.jsonString {
		if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			var inner any
			if err := json.Unmarshal([]byte(t), &inner); err != nil {
				return nil, fmt.Errorf("field %s holds invalid JSON: %v", strings.Join(ex.field, "."), err)
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

func (ex *extractor) extractAccess(line []byte) (any, string, error) {
	group := none
	if ex.groupRe != nil {
		if m := ex.groupRe.FindSubmatch(line); m != nil {
			group = string(m[1])
		}
	}
	m := accessLine.FindSubmatch(line)
	if m == nil {
		return nil, group, fmt.Errorf("not a common or combined log line")
	}
	target := string(m[6])
	path, rawQuery, _ := strings.Cut(target, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, group, fmt.Errorf("invalid query string: %v", err)
	}
	doc := map[string]any{}
	for k, vs := range q {
		if len(vs) == 1 {
			doc[k] = queryValue(vs[0])
			continue
		}
		arr := make([]any, len(vs))
		for i, v := range vs {
			arr[i] = queryValue(v)
		}
		doc[k] = arr
	}
	if ex.groupRe == nil && len(ex.group) == 1 {
		if i, ok := accessFields[ex.group[0]]; ok {
			if i == 6 {
				group = path
			} else if v := string(m[i]); v != "" && v != "-" {
				group = v
			}
		} else if v, ok := q[ex.group[0]]; ok && len(v) > 0 {
			group = v[0]
		}
	}
	if ex.field == nil {
		return doc, group, nil
	}
	v, ok := doc[strings.Join(ex.field, ".")]
	if !ok {
		return nil, group, fmt.Errorf("query parameter %s is missing", strings.Join(ex.field, "."))
	}
	return v, group, nil
}

// queryValue is a query parameter's value: JSON when it parses as JSON
// (where={"name":"x"} is an object), else the string.
func queryValue(s string) any {
	t := strings.TrimSpace(s)
	if t == "" {
		return s
	}
	switch t[0] {
	case '{', '[', '"', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 't', 'f', 'n':
		var v any
		if json.Unmarshal([]byte(t), &v) == nil {
			return v
		}
	}
	return s
}
