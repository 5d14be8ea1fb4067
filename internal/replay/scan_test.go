package replay

import (
	"encoding/json"
	"strings"
	"testing"
)

// nested is a JSON value nested depth levels deep: [[[...]]] or {"a":{"a":...}}.
func nested(depth int, object bool) string {
	if object {
		return strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth)
	}
	return strings.Repeat("[", depth) + strings.Repeat("]", depth)
}

// TestScanSpansDepthAgreesWithEncodingJSON: the scanner accepts what
// encoding/json accepts at the nesting limit and rejects one level more.
func TestScanSpansDepthAgreesWithEncodingJSON(t *testing.T) {
	for _, depth := range []int{maxDepth - 1, maxDepth, maxDepth + 1, 100_000} {
		for _, object := range []bool{false, true} {
			in := []byte(nested(depth, object))
			_, err := scanSpans(in, [][]string{{"a", "a"}})
			if (err == nil) != json.Valid(in) {
				t.Errorf("depth %d (object %v): scanner valid=%v, encoding/json valid=%v", depth, object, err == nil, json.Valid(in))
			}
		}
	}
}

// TestKeysUnescapedByJSONRules: a path matches a key however the line
// escapes it, by JSON's rules (not Go's); an invalid escape makes the line
// unreadable.
func TestKeysUnescapedByJSONRules(t *testing.T) {
	tests := []struct {
		line    string
		path    []string
		want    string // the span found; "" for none
		invalid bool
	}{
		{`{"a\/b":1}`, []string{"a/b"}, `1`, false},
		{`{"a\/b":{"c\/d":2}}`, []string{"a/b", "c/d"}, `2`, false},
		{`{"caf\u00e9":3}`, []string{"café"}, `3`, false},
		{`{"caf\u00E9":3}`, []string{"café"}, `3`, false},
		{`{"\ud83d\ude00":4}`, []string{"😀"}, `4`, false},
		{`{"x\ud83d\ude00y":[5,6]}`, []string{"x😀y", "1"}, `6`, false},
		{`{"tab\there":7}`, []string{"tab\there"}, `7`, false},
		{`{"q\"uote":8}`, []string{`q"uote`}, `8`, false},
		{`{"back\\slash":9}`, []string{`back\slash`}, `9`, false},
		// A lone surrogate decodes to U+FFFD, as encoding/json decodes it.
		{`{"\ud83d":10}`, []string{"\ufffd"}, `10`, false},
		{`{"\ude00x":11}`, []string{"\ufffdx"}, `11`, false},
		// The escaped key is not the raw text.
		{`{"a\/b":1}`, []string{`a\/b`}, ``, false},
		{`{"\u0061":12}`, []string{"a"}, `12`, false},
		// Invalid escapes.
		{`{"a\x41":1}`, []string{"aA"}, ``, true},
		{`{"a\u12":1}`, []string{"a"}, ``, true},
		{`{"a\U0001F600":1}`, []string{"a😀"}, ``, true},
		{`{"a\'":1}`, []string{"a'"}, ``, true},
		{`{"a\0":1}`, []string{"a"}, ``, true},
	}
	for _, tt := range tests {
		spans, err := scanSpans([]byte(tt.line), [][]string{tt.path})
		if (err != nil) != tt.invalid || (err == nil) != json.Valid([]byte(tt.line)) {
			t.Errorf("%s: err = %v, want invalid %v", tt.line, err, tt.invalid)
			continue
		}
		if err != nil {
			continue
		}
		if got := string(spans[0]); got != tt.want {
			t.Errorf("%s: path %q found %q, want %q", tt.line, tt.path, got, tt.want)
		}
	}
	// End to end: --field and --group-by through escaped keys.
	r, err := run(t, `{"cl\/ient":"\ud83d\ude00","wh\u0065re":{"name":"x"}}`+"\n", Options{Field: "where", GroupBy: "/cl~1ient"})
	if err != nil {
		t.Fatal(err)
	}
	if r.AcceptedBoth != 1 || len(r.Groups) != 1 || r.Groups[0].Key != "😀" {
		t.Errorf("escaped keys: counts = %+v, groups = %+v", r, r.Groups[0])
	}
}
