package replay

import (
	"encoding/json"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// walk is the value at path in a document decoded by encoding/json.
func walk(doc any, path []string) (any, bool) {
	for _, p := range path {
		obj, ok := doc.(map[string]any)
		if !ok {
			arr, isArr := doc.([]any)
			if !isArr {
				return nil, false
			}
			i := -1
			for j := range arr {
				if p == itoa(j) {
					i = j
				}
			}
			if i < 0 {
				return nil, false
			}
			doc = arr[i]
			continue
		}
		if doc, ok = obj[p]; !ok {
			return nil, false
		}
	}
	return doc, true
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

// FuzzLocate: the document and group replay finds in a JSON line are the
// ones encoding/json finds at the same paths; a line encoding/json
// refuses is unreadable.
func FuzzLocate(f *testing.F) {
	for _, s := range []struct{ line, field, group string }{
		{`{"where":{"name":"x"},"partner":"acme"}`, "where", "partner"},
		{`{"body":"{\"a\":1}","p":{"q":[1,2]}}`, "body", "p.q.1"},
		{`{"a":{"b":null}}`, "/a/b", ""},
		{`[{"a":1}]`, "0.a", ""},
		{`{"a":"x","a":"y"}`, "a", "a"},
		{`{"a":"  [1,2] "}`, "a", ""},
	} {
		f.Add(s.line, s.field, s.group)
	}
	f.Fuzz(func(t *testing.T, line, field, group string) {
		if field == "" || strings.HasPrefix(group, "re:") {
			return
		}
		ex, err := newExtractor(Options{Format: JSONL, Field: field, GroupBy: group})
		if err != nil {
			return
		}
		var doc any
		jerr := unmarshal([]byte(line), &doc)
		loc, err := ex.locate([]byte(line))
		if jerr != nil {
			if err == nil {
				t.Fatalf("%q: encoding/json refuses it (%v), replay read it", line, jerr)
			}
			return
		}
		want, found := walk(doc, ex.field)
		if err != nil {
			if found {
				t.Fatalf("%q: field %q: %v, but encoding/json finds %v", line, field, err, want)
			}
			return
		}
		if !found {
			t.Fatalf("%q: replay found field %q, encoding/json does not", line, field)
		}
		got, err := ex.decode(loc)
		if s, ok := want.(string); ok && loc.jsonString {
			if tr := strings.TrimSpace(s); strings.HasPrefix(tr, "{") || strings.HasPrefix(tr, "[") {
				var inner any
				if unmarshal([]byte(tr), &inner) != nil {
					if err == nil {
						t.Fatalf("%q: a field holding invalid JSON was read", line)
					}
					return
				}
				want = inner
			}
		}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: field %q: replay %#v (%v), encoding/json %#v", line, field, got, err, want)
		}
		if group != "" {
			g, ok := walk(doc, ex.group)
			if ok != loc.groupFound {
				t.Fatalf("%q: group %q found=%v, encoding/json %v", line, group, loc.groupFound, ok)
			}
			if s, isStr := g.(string); ok && isStr && loc.group != s {
				t.Fatalf("%q: group %q = %q, encoding/json %q", line, group, loc.group, s)
			}
		}
	})
}

// FuzzAccessLine: an access log line is read or refused without a panic;
// the document read holds exactly the query's parameters.
func FuzzAccessLine(f *testing.F) {
	for _, s := range []string{
		`192.0.2.1 - alice [02/Mar/2026:09:00:00 +0000] "GET /api/students?where=%7B%22name%22%3A%22x%22%7D&partner=acme HTTP/1.1" 200 512 "-" "curl/8"`,
		`192.0.2.1 - - [02/Mar/2026:09:00:00 +0000] "GET /a?x=1&x=2&y=[1,2]&z=%zz HTTP/1.1" 400 -`,
		`h - - [t] "GET /?a=` + strings.Repeat("[", 20000) + ` HTTP/1.1" 200 1`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		ex, err := newExtractor(Options{Format: Access, GroupBy: "user"})
		if err != nil {
			t.Fatal(err)
		}
		loc, err := ex.locate([]byte(line))
		if err != nil {
			return
		}
		m := accessLine.FindStringSubmatch(line)
		_, raw, _ := strings.Cut(m[6], "?")
		q, _ := url.ParseQuery(raw)
		doc, ok := loc.doc.(map[string]any)
		if !ok || len(doc) != len(q) {
			t.Fatalf("%q: document %#v for query %v", line, loc.doc, q)
		}
		for k := range q {
			if _, ok := doc[k]; !ok {
				t.Fatalf("%q: parameter %q missing", line, k)
			}
		}
	})
}
