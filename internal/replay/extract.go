package replay

import (
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

func (ex *extractor) extract(line []byte) (doc any, group string, err error) {
	if ex.format == Access {
		return ex.extractAccess(line)
	}
	group = none
	var v any
	if err := json.Unmarshal(line, &v); err != nil {
		if ex.groupRe != nil {
			if m := ex.groupRe.FindSubmatch(line); m != nil {
				group = string(m[1])
			}
		}
		return nil, group, fmt.Errorf("invalid JSON: %v", err)
	}
	switch {
	case ex.groupRe != nil:
		if m := ex.groupRe.FindSubmatch(line); m != nil {
			group = string(m[1])
		}
	case ex.group != nil:
		g, ok := lookup(v, ex.group)
		group = groupKey(g, ok)
	}
	if ex.field == nil {
		return v, group, nil
	}
	d, ok := lookup(v, ex.field)
	if !ok {
		return nil, group, fmt.Errorf("field %s is missing", strings.Join(ex.field, "."))
	}
	// A logged request body is often a JSON string holding JSON.
	if s, isStr := d.(string); isStr {
		if t := strings.TrimSpace(s); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			var inner any
			if err := json.Unmarshal([]byte(t), &inner); err != nil {
				return nil, group, fmt.Errorf("field %s holds invalid JSON: %v", strings.Join(ex.field, "."), err)
			}
			d = inner
		}
	}
	return d, group, nil
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
