package replay

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cascade-dev/cascade/internal/schemadiff"
)

const oldSchema = `{"type":"object","properties":{"name":{"type":"string"},"grade":{"type":"number"}}}`
const newSchema = `{"type":"object","properties":{"name":{"type":"string"},"grade":{"type":"number"}},"additionalProperties":false}`

func schemas(t *testing.T) (*schemadiff.Schema, *schemadiff.Schema) {
	t.Helper()
	o, err := schemadiff.Load("old.json", []byte(oldSchema))
	if err != nil {
		t.Fatal(err)
	}
	n, err := schemadiff.Load("new.json", []byte(newSchema))
	if err != nil {
		t.Fatal(err)
	}
	return o, n
}

func run(t *testing.T, input string, opt Options) (*Report, error) {
	t.Helper()
	opt.Old, opt.New = schemas(t)
	if opt.Examples == 0 {
		opt.Examples = 2
	}
	return Run(context.Background(), []Input{{Name: "log", R: strings.NewReader(input)}}, opt)
}

const jsonlLog = `{"partner":"a","where":{"name":"x"}}
{"partner":"b","where":{"nmae":"x"}}
not json
{"partner":"b","where":"{\"extra\":1}"}

{"partner":"c"}
{"partner":"a","where":{"grade":"high"}}
{"partner":"b","where":{"nmae":"y"}}
{"partner":"b","where":{"nmae":"z"}}
`

func TestJSONL(t *testing.T) {
	r, err := run(t, jsonlLog, Options{Field: "where", GroupBy: "partner"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 8 || r.ParseErrors != 2 || r.AcceptedBoth != 1 || r.NewlyRejected != 4 || r.StillRejected != 1 {
		t.Fatalf("counts = %+v", r)
	}
	b := r.Groups[0]
	if b.Key != "b" || b.NewlyRejected != 4 || len(b.Examples) != 2 {
		t.Fatalf("largest group = %+v", b)
	}
	// Examples come in line order, with the new schema's error.
	if b.Examples[0].Line != 2 || b.Examples[1].Line != 4 || !strings.Contains(b.Examples[0].Error, "additional properties 'nmae' not allowed") {
		t.Errorf("examples = %+v", b.Examples)
	}
	var lines []int64
	for _, e := range r.ParseErrorExamples {
		lines = append(lines, e.Line)
	}
	if diff := cmp.Diff([]int64{3, 6}, lines); diff != "" {
		t.Errorf("parse error lines (blank line 5 keeps its number) mismatch (-want +got):\n%s", diff)
	}
	if !strings.Contains(r.ParseErrorExamples[0].Error, "invalid JSON") || !strings.Contains(r.ParseErrorExamples[1].Error, "field where is missing") {
		t.Errorf("parse errors = %+v", r.ParseErrorExamples)
	}
}

// TestDeterministic: the same report whatever the number of workers.
func TestDeterministic(t *testing.T) {
	var b strings.Builder
	for i := 0; i < 20000; i++ {
		switch i % 7 {
		case 0:
			fmt.Fprintf(&b, `{"p":"p%d","where":{"bad%d":1}}`+"\n", i%13, i%5)
		case 1:
			b.WriteString("garbage\n")
		default:
			fmt.Fprintf(&b, `{"p":"p%d","where":{"name":"n%d"}}`+"\n", i%13, i)
		}
	}
	var first *Report
	for _, jobs := range []int{1, 2, 7} {
		r, err := run(t, b.String(), Options{Field: "/where", GroupBy: "p", Jobs: jobs, Examples: 3})
		if err != nil {
			t.Fatal(err)
		}
		r.DurationMS = 0
		if first == nil {
			first = r
			continue
		}
		if diff := cmp.Diff(first, r, cmp.AllowUnexported(Report{}, Example{})); diff != "" {
			t.Errorf("jobs=%d differs (-1 +%d):\n%s", jobs, jobs, diff)
		}
	}
}

func TestTooLongLines(t *testing.T) {
	long := `{"where":{"name":"` + strings.Repeat("x", 200) + `"}}`
	r, err := run(t, `{"where":{"name":"a"}}`+"\n"+long+"\n"+`{"where":{"x":1}}`+"\n", Options{Field: "where", MaxLine: 100})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 3 || r.TooLong != 1 || r.AcceptedBoth != 1 || r.NewlyRejected != 1 {
		t.Fatalf("counts = %+v", r)
	}
	if r.ParseErrorExamples[0].Line != 2 || r.Groups[0].Examples[0].Line != 3 {
		t.Errorf("line numbers after a long line: %+v %+v", r.ParseErrorExamples, r.Groups[0].Examples)
	}
}

const accessLog = `192.0.2.1 - gradebook [02/Mar/2026:09:00:00 +0000] "GET /v1/students?where=%7B%22nmae%22%3A%22Ada%22%7D&limit=10 HTTP/1.1" 200 512 "-" "sdk/1"
192.0.2.2 - district [02/Mar/2026:09:00:01 +0000] "GET /v1/students?where={"name":"Ada"} HTTP/1.1" 200 512 "-" "sdk/2"
192.0.2.3 - - [02/Mar/2026:09:00:02 +0000] "GET /v1/students?partner=bus&where=%7B%22grade%22%3A3%7D HTTP/1.1" 200 10
this is not an access log line
`

func TestAccessLog(t *testing.T) {
	r, err := run(t, accessLog, Options{Format: Access, Field: "where", GroupBy: "user"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 4 || r.NewlyRejected != 1 || r.AcceptedBoth != 2 || r.ParseErrors != 1 {
		t.Fatalf("counts = %+v", r)
	}
	if r.Groups[0].Key != "gradebook" || r.Groups[0].Examples[0].Line != 1 {
		t.Errorf("groups = %+v", r.Groups[0])
	}
	// Group by a query parameter, and by a regular expression.
	r, _ = run(t, accessLog, Options{Format: Access, Field: "where", GroupBy: "partner"})
	keys := map[string]int64{}
	for _, g := range r.Groups {
		keys[g.Key] = g.Total
	}
	if keys["bus"] != 1 || keys["(none)"] != 3 {
		t.Errorf("groups by parameter = %v", keys)
	}
	r, _ = run(t, accessLog, Options{Format: Access, Field: "where", GroupBy: `re:"(sdk/\d)"`})
	if r.Groups[0].Key != "sdk/1" {
		t.Errorf("groups by regexp = %+v", r.Groups)
	}
	// Without --field the whole query is the document: limit=10 is a number.
	ex, _ := newExtractor(Options{Format: Access})
	loc, err := ex.locate([]byte(strings.Split(accessLog, "\n")[0]))
	if err != nil {
		t.Fatal(err)
	}
	doc, _ := json.Marshal(loc.doc)
	if string(doc) != `{"limit":10,"where":{"nmae":"Ada"}}` {
		t.Errorf("query document = %s", doc)
	}
}

func TestGzip(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(zw, `{"where":{"name":"n%d","pad":"%s"}}`+"\n", i, strings.Repeat("p", i%50))
	}
	zw.Close()
	o, n := schemas(t)
	r, err := Run(context.Background(), []Input{{Name: "log.gz", R: bytes.NewReader(buf.Bytes())}}, Options{Old: o, New: n, Field: "where"})
	if err != nil || r.Total != 5000 || r.NewlyRejected != 5000 {
		t.Fatalf("gzip: %+v, %v", r, err)
	}
	// Truncated: the counts so far, and an error naming the file and offset.
	cut := buf.Bytes()[:buf.Len()/2]
	r, err = Run(context.Background(), []Input{{Name: "log.gz", R: bytes.NewReader(cut)}}, Options{Old: o, New: n, Field: "where"})
	var te *TruncatedError
	if !errors.As(err, &te) || te.File != "log.gz" || te.Offset != int64(len(cut)) {
		t.Fatalf("truncated: err = %v", err)
	}
	if r == nil || r.Total == 0 || r.Total >= 5000 {
		t.Errorf("truncated: counts = %+v", r)
	}
}

func TestScanSpansAgreesWithEncodingJSON(t *testing.T) {
	inputs := []string{
		`{}`, `[]`, `{"a":1}`, `{"a":[1,2,{"b":"c"}]}`, `{"a":"\"quoted\\"}`, `{"a":-0.5e+3}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`,
		`{"a":tru}`, `{"a":true,}`, `{"a" 1}`, `{"a":"x}`, `{"a":"x"}x`, `{"a":"\u00e9"}`, `  {"a" : null }  `, `{"a":"tab	"}`,
		`{"a":{"b":{"c":[true,false,null]}}}`, `[1,2`, `{"a":1}{"b":2}`, `"x"`, `-`, `{"k\"ey":1}`,
	}
	for _, in := range inputs {
		_, err := scanSpans([]byte(in), [][]string{{"a"}})
		if (err == nil) != json.Valid([]byte(in)) {
			t.Errorf("%q: scanner valid=%v, encoding/json valid=%v", in, err == nil, json.Valid([]byte(in)))
		}
	}
	spans, err := scanSpans([]byte(`{"x":1,"a":{"b":[10,{"c":"d"}]},"k\"ey":2}`), [][]string{{"a", "b", "1", "c"}, {"a"}, {"k\"ey"}, {"zz"}})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{string(spans[0]), string(spans[1]), string(spans[2]), string(spans[3])}
	if diff := cmp.Diff([]string{`"d"`, `{"b":[10,{"c":"d"}]}`, `2`, ``}, got); diff != "" {
		t.Errorf("spans mismatch (-want +got):\n%s", diff)
	}
}

func FuzzScanSpans(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `[{"a":"b"}]`, `{"a":-1.5e3,"b":[true]}`, `{"a\/b":1,"\u0061":2}`, `{"\ud83d\ude00":[1],"\ud83d":{}}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		_, err := scanSpans([]byte(in), [][]string{{"a"}})
		if (err == nil) != json.Valid([]byte(in)) {
			t.Errorf("%q: scanner valid=%v, encoding/json valid=%v", in, err == nil, json.Valid([]byte(in)))
		}
		// Every key encoding/json decodes finds the same value.
		var members map[string]json.RawMessage
		if json.Unmarshal([]byte(in), &members) != nil {
			return
		}
		for k, raw := range members {
			spans, err := scanSpans([]byte(in), [][]string{{k}})
			if err != nil {
				t.Errorf("%q: key %q: %v", in, k, err)
			} else if !bytes.Equal(spans[0], raw) {
				t.Errorf("%q: key %q: scanner found %q, encoding/json %q", in, k, spans[0], raw)
			}
		}
	})
}

// TestTooCostlyLineIsUndecided: a line whose validation against a schema
// would cost more than schemadiff.MaxEvaluations (a chain of $defs that
// doubles at each level) is not judged: it is an unreadable line that
// says why, never newly rejected or accepted.
func TestTooCostlyLineIsUndecided(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"$ref":"#/$defs/d0","$defs":{`)
	for i := range 25 {
		fmt.Fprintf(&b, `"d%d":{"anyOf":[{"$ref":"#/$defs/d%d"},{"allOf":[{"$ref":"#/$defs/d%d"}]}]},`, i, i+1, i+1)
	}
	b.WriteString(`"d25":{"type":"object","required":["name"]}}}`)
	o, err := schemadiff.Load("old.json", []byte(oldSchema))
	if err != nil {
		t.Fatal(err)
	}
	n, err := schemadiff.Load("new.json", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), []Input{{Name: "log", R: strings.NewReader(`{"where":{"grade":1}}` + "\n")}},
		Options{Old: o, New: n, Field: "where", Examples: 2})
	if err != nil {
		t.Fatal(err)
	}
	if r.ParseErrors != 1 || r.Undecided != 1 || r.NewlyRejected != 0 || r.AcceptedBoth != 0 || len(r.ParseErrorExamples) != 1 ||
		!strings.Contains(r.ParseErrorExamples[0].Error, "subschema evaluations") {
		t.Errorf("report = %+v %+v", r, r.ParseErrorExamples)
	}
}

// TestMessagesDeterministic: the same line gets the same message on every
// run, though the validator walks maps in random order (property names in
// "additional properties ... not allowed", the order of failing members).
func TestMessagesDeterministic(t *testing.T) {
	o, err := schemadiff.Load("old.json", []byte(`{"type":"object"}`))
	if err != nil {
		t.Fatal(err)
	}
	n, err := schemadiff.Load("new.json", []byte(`{"type":"object","additionalProperties":false,
		"properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"string"},"d":{"type":"string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	log := `{"where":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8}}` + "\n"
	// Without the types, the additional properties' names alone.
	n2, err := schemadiff.Load("new2.json", []byte(`{"type":"object","additionalProperties":false}`))
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		r, err := Run(context.Background(), []Input{{Name: "log", R: strings.NewReader(log)}}, Options{Old: o, New: n2, Field: "where", Examples: 2})
		if err != nil {
			t.Fatal(err)
		}
		if msg := r.Groups[0].Examples[0].Error; msg != "at '': additional properties 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h' not allowed" {
			t.Fatalf("message %q", msg)
		}
	}
	var first string
	for i := range 20 {
		r, err := Run(context.Background(), []Input{{Name: "log", R: strings.NewReader(log)}}, Options{Old: o, New: n, Field: "where", Examples: 2})
		if err != nil {
			t.Fatal(err)
		}
		msg := r.Groups[0].Examples[0].Error
		if i == 0 {
			first = msg
			continue
		}
		if msg != first {
			t.Fatalf("run %d: %q, run 0: %q", i, msg, first)
		}
	}
	if first != "at '/b': got number, want string; at '/c': got number, want string; at '/d': got number, want string" {
		t.Errorf("message %q", first)
	}
}

// replayWith replays log against two schema documents.
func replayWith(t *testing.T, oldDoc, newDoc, log string, opt Options) *Report {
	t.Helper()
	o, err := schemadiff.Load("old.json", []byte(oldDoc))
	if err != nil {
		t.Fatal(err)
	}
	n, err := schemadiff.Load("new.json", []byte(newDoc))
	if err != nil {
		t.Fatal(err)
	}
	opt.Old, opt.New = o, n
	if opt.Examples == 0 {
		opt.Examples = 2
	}
	r, err := Run(context.Background(), []Input{{Name: "log", R: strings.NewReader(log)}}, opt)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestNumbersAreExact: a number is judged as the validator reads it, not
// rounded to a float64 (10000000000000001 became 1e16 and passed maximum
// 1e16; 0.10000000000000001 became 0.1 and passed multipleOf 0.1), and a
// number beyond float64 (1e400) is a number, not invalid JSON.
func TestNumbersAreExact(t *testing.T) {
	r := replayWith(t, `{"properties":{"id":{"type":"integer"}}}`, `{"properties":{"id":{"type":"integer","maximum":10000000000000000}}}`,
		`{"c":"a","body":{"id":10000000000000001}}`+"\n", Options{Field: "body", GroupBy: "c"})
	if r.NewlyRejected != 1 {
		t.Errorf("maximum: %+v", r)
	}
	r = replayWith(t, `{"type":"number"}`, `{"type":"number","multipleOf":0.1}`, `{"body":0.10000000000000001}`+"\n", Options{Field: "body"})
	if r.NewlyRejected != 1 {
		t.Errorf("multipleOf: %+v", r)
	}
	r = replayWith(t, `{"type":"number"}`, `{"type":"number","maximum":1e308}`, `{"body":1}`+"\n"+`{"body":1e400}`+"\n", Options{Field: "body"})
	if r.NewlyRejected != 1 || r.ParseErrors != 0 {
		t.Errorf("1e400: %+v %+v", r, r.ParseErrorExamples)
	}
	// Access logs: a query parameter holding a number.
	r = replayWith(t, `{"type":"integer"}`, `{"type":"integer","maximum":10000000000000000}`,
		`192.0.2.1 - alice [28/Nov/2026:08:00:00 +0000] "GET /where?id=10000000000000001 HTTP/1.1" 200 12`+"\n", Options{Format: Access, Field: "id"})
	if r.NewlyRejected != 1 {
		t.Errorf("access: %+v %+v", r, r.ParseErrorExamples)
	}
	// A number of a thousand digits is not decided.
	r = replayWith(t, `{"type":"number"}`, `{"type":"number","maximum":5}`, `{"body":1`+strings.Repeat("0", 1000)+"}\n", Options{Field: "body"})
	if r.Undecided != 1 || r.NewlyRejected != 0 {
		t.Errorf("a thousand digits: %+v", r)
	}
}

// TestOutputBounded: a client name of 500 KB is cut (with its length and
// a hash, so that two stay apart), more than MaxGroups clients are counted
// together, and a message of megabytes is cut: the report stays small.
func TestOutputBounded(t *testing.T) {
	var log strings.Builder
	pad := strings.Repeat("a", 500000)
	for i := range 3 {
		fmt.Fprintf(&log, `{"c":"%d%s","body":7}`+"\n", i, pad)
	}
	r := replayWith(t, `{"type":"number"}`, `{"type":"number","maximum":5}`, log.String(), Options{Field: "body", GroupBy: "c"})
	if len(r.Groups) != 3 || r.NewlyRejected != 3 {
		t.Fatalf("%d groups, %d newly rejected", len(r.Groups), r.NewlyRejected)
	}
	for _, g := range r.Groups {
		if len(g.Key) > MaxGroupKey || !strings.Contains(g.Key, "(500001 bytes, sha256 ") {
			t.Errorf("key of %d bytes: %.300s", len(g.Key), g.Key)
		}
	}
	log.Reset()
	for i := range MaxGroups + 5 {
		fmt.Fprintf(&log, `{"c":"client-%d","body":7}`+"\n", i)
	}
	r = replayWith(t, `{"type":"number"}`, `{"type":"number","maximum":5}`, log.String(), Options{Field: "body", GroupBy: "c", Jobs: 2})
	if len(r.Groups) != MaxGroups+1 || len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "more than 10000 clients") {
		t.Errorf("%d groups, warnings %q", len(r.Groups), r.Warnings)
	}
	var enum strings.Builder
	enum.WriteString(`{"enum":[`)
	for i := range 20000 {
		if i > 0 {
			enum.WriteString(",")
		}
		fmt.Fprintf(&enum, `"value-%d"`, i)
	}
	enum.WriteString("]}")
	r = replayWith(t, `{"type":"string"}`, enum.String(), `{"body":"x"}`+"\n", Options{Field: "body"})
	if msg := r.Groups[0].Examples[0].Error; len(msg) > MaxMessage+50 || !strings.Contains(msg, " bytes)") {
		t.Errorf("message of %d bytes: %.200s", len(msg), msg)
	}
}
