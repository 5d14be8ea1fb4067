package replay

import (
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// TestDeepLineIsUnreadable: a line nested deeper than the limit is counted
// as unreadable, even when the field itself is shallow, and scanning it
// does not grow the stack with the depth.
func TestDeepLineIsUnreadable(t *testing.T) {
	// A scanner that recursed once per level would need megabytes of stack
	// for the 100,000-deep line; the program crashes if it tries.
	defer debug.SetMaxStack(debug.SetMaxStack(1 << 20))
	deep := nested(100_000, false)
	log := `{"partner":"a","where":{"name":"x"},"junk":` + deep + "}\n" +
		`{"partner":"a","where":{"name":"y"}}` + "\n" +
		`{"partner":"b","where":` + nested(100_000, true) + "}\n" +
		deep + "\n"
	r, err := run(t, log, Options{Field: "where", GroupBy: "partner", Jobs: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{"total": r.Total, "parse_errors": r.ParseErrors, "too_deep": r.TooDeep, "accepted": r.AcceptedBoth, "documents": r.Documents}
	want := map[string]int64{"total": 4, "parse_errors": 3, "too_deep": 3, "accepted": 1, "documents": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("counts mismatch (-want +got):\n%s", diff)
	}
	if len(r.ParseErrorExamples) == 0 || !strings.Contains(r.ParseErrorExamples[0].Error, "nested more than 10000 levels") {
		t.Errorf("parse error examples = %+v", r.ParseErrorExamples)
	}
}

// TestDeepInsideString: a logged body (a JSON string holding JSON) nested
// too deep, or a query parameter holding such JSON, is unreadable too.
func TestDeepInsideString(t *testing.T) {
	body, _ := json.Marshal(nested(20_000, false))
	r, err := run(t, `{"where":`+string(body)+"}\n", Options{Field: "where"})
	if err != nil {
		t.Fatal(err)
	}
	if r.ParseErrors != 1 || r.TooDeep != 1 {
		t.Errorf("logged body: counts = %+v", r)
	}
	access := `192.0.2.1 - a [02/Mar/2026:09:00:00 +0000] "GET /v1/students?where=` + nested(20_000, false) + ` HTTP/1.1" 200 512`
	r, err = run(t, access+"\n", Options{Format: Access, Field: "where"})
	if err != nil {
		t.Fatal(err)
	}
	if r.ParseErrors != 1 || r.TooDeep != 1 || r.StillRejected != 0 {
		t.Errorf("query parameter: counts = %+v", r)
	}
}

// TestNothingChecked: a replay in which no line could be read checks
// nothing, and says why; one that read some lines passes on those.
func TestNothingChecked(t *testing.T) {
	var many strings.Builder
	for i := range 1204 {
		fmt.Fprintf(&many, `{"ts":%d,"partner":"p","query":{"where\/x":{}}}`+"\n", i)
	}
	tests := []struct {
		name     string
		log      string
		opt      Options
		nothing  string // the NothingChecked error, "" for none
		warnings []string
		missing  int64
	}{
		{"empty", "", Options{Field: "where"},
			"log holds no lines: nothing was checked", nil, 0},
		{"blank lines only", "\n  \n\n", Options{},
			"log holds no lines: nothing was checked", nil, 0},
		{"field matches no line", many.String(), Options{Field: "query.where", GroupBy: "partner"},
			"--field query.where matched none of the 1,204 lines: nothing was checked; check the path: query in log:1 has no key where; its keys are where/x", nil, 1204},
		{"field at the top level", `{"a":1,"b c":2,"":3}` + "\n" + `not json` + "\n", Options{Field: "/where"},
			`--field /where matched none of the 2 lines (1 not valid JSON): nothing was checked; check the path: the top-level keys of log:1 are a, "b c", ""`, nil, 1},
		{"not an object", `[1]` + "\n", Options{Field: "where"},
			"--field where matched no line (of 1): nothing was checked; check the path: log:1 is a JSON array, not an object", nil, 1},
		{"all unreadable", "not json\n" + nested(10_001, false) + "\n", Options{Field: "where"},
			"none of the 2 lines could be read as a request (1 not valid JSON, 1 nested too deep): nothing was checked; the first: log:1: invalid JSON: invalid character 'o' in literal null (expecting 'u')", nil, 0},
		{"missing field and invalid body", `{"where":"{oops"}` + "\n" + `{"x":1}` + "\n", Options{Field: "where"},
			"none of the 2 lines could be read as a request (1 not valid JSON, 1 without the field where): nothing was checked; the first: log:1: field where holds invalid JSON: invalid character 'o' looking for beginning of object key string", nil, 1},
		{"access parameter missing", accessLog, Options{Format: Access, Field: "filter"},
			"--field filter matched none of the 4 lines (1 not an access log line): nothing was checked; check the parameter name: the query parameters of log:1 are limit, where", nil, 3},
		{"some lines lack the field", `{"where":{"name":"a"}}` + "\n" + `{"wehre":{}}` + "\n", Options{Field: "where"},
			"", nil, 1},
		{"group-by matches no line", `{"client":"a","where":{}}` + "\n" + `{"client":"b"}` + "\n" + "oops\n", Options{Field: "where", GroupBy: "partner"},
			"", []string{"--group-by partner matched none of the 2 readable lines: every request is counted under (none); check the path: the top-level keys of log:1 are client, where"}, 1},
		{"group-by matches a null", `{"partner":null,"where":{}}` + "\n", Options{Field: "where", GroupBy: "partner"},
			"", nil, 0},
		{"group-by regexp matches no line", `{"where":{}}` + "\n", Options{Field: "where", GroupBy: `re:partner=(\w+)`},
			"", []string{`--group-by re:partner=(\w+) matched no line (of 1): every request is counted under (none); check the regular expression against log:1`}, 0},
		{"group-by parameter matches no line", accessLog, Options{Format: Access, Field: "where", GroupBy: "client"},
			"", []string{"--group-by client matched none of the 3 readable lines: every request is counted under (none); check the parameter or log field name: the query parameters of log:1 are limit, where"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := run(t, tt.log, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if err := r.NothingChecked(); err != nil {
				got = err.Error()
				if errkind.Of(err) != errkind.Invalid {
					t.Errorf("kind = %v, want invalid (exit 2)", errkind.Of(err))
				}
			}
			if got != tt.nothing {
				t.Errorf("NothingChecked() = %q\nwant %q", got, tt.nothing)
			}
			want := append([]string{}, tt.warnings...)
			if tt.nothing != "" {
				want = append(want, tt.nothing)
			}
			if diff := cmp.Diff(want, r.Warnings); diff != "" {
				t.Errorf("warnings mismatch (-want +got):\n%s", diff)
			}
			if r.MissingField != tt.missing {
				t.Errorf("missing_field = %d, want %d", r.MissingField, tt.missing)
			}
			if r.Documents != r.AcceptedBoth+r.NewlyRejected+r.NewlyAccepted+r.StillRejected || r.Documents+r.ParseErrors != r.Total {
				t.Errorf("counts do not add up: %+v", r)
			}
		})
	}
}

func TestCommas(t *testing.T) {
	got := []string{}
	for _, n := range []int64{0, 7, 999, 1000, 1204, 999999, 1000000, 1234567890, -1204} {
		got = append(got, commas(n))
	}
	want := []string{"0", "7", "999", "1,000", "1,204", "999,999", "1,000,000", "1,234,567,890", "-1,204"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("commas mismatch (-want +got):\n%s", diff)
	}
}
