package jsonfile

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/errkind"
)

func TestCheckKeys(t *testing.T) {
	for _, tc := range []struct {
		name, data string
		want       string // "" for no error
	}{
		{"none", `{"a": 1, "b": {"a": 2, "c": [{"a": 3}, {"a": 4}]}}`, ""},
		{"top", "{\n  \"type\": \"object\",\n  \"type\": \"string\"\n}", `f.json:3:3: duplicate key "type" (first at f.json:2:3)`},
		{"nested", `{"properties": {"id": {"type": "string", "maxLength": 5, "maxLength": 50}}}`, `f.json:1:58: duplicate key "maxLength" (first at f.json:1:42)`},
		{"in array", `[1, {"x": [], "y": {}, "x": null}]`, `f.json:1:24: duplicate key "x" (first at f.json:1:6)`},
		{"escaped", `{"a": 1, "\u0061": 2}`, `f.json:1:10: duplicate key "a" (first at f.json:1:2)`},
		{"after nested object", `{"a": {"b": 1}, "c": [1, {"d": 2}], "a": 3}`, `f.json:1:37: duplicate key "a" (first at f.json:1:2)`},
		{"same key in siblings", `[{"a": 1}, {"a": 2}]`, ""},
		{"empty key twice", `{"": 1, "": 2}`, `f.json:1:9: duplicate key "" (first at f.json:1:2)`},
		{"not json", `{"a": 1, "b"`, ""},
		{"scalar", `"x"`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckKeys("f.json", []byte(tc.data))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("CheckKeys = %v; want nil", err)
				}
				return
			}
			var de *DuplicateKeyError
			if !errors.As(err, &de) || errkind.Of(err) != errkind.Invalid || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("CheckKeys = %v; want %s... as bad input", err, tc.want)
			}
		})
	}
}

// FuzzCheckKeys: never a panic, whatever the input; and what Go's
// encoding/json makes of a valid document (one value per key) passes.
func FuzzCheckKeys(f *testing.F) {
	for _, s := range []string{`{"a":1,"a":2}`, `{"a":{"b":1},"b":[{"a":1}]}`, `[]`, `{"\u0061":1,"a":2}`, `{"a":[{"a":1,"b":2}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_ = CheckKeys("f.json", data)
		if !json.Valid(data) {
			return
		}
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		out, _ := json.Marshal(v)
		if CheckKeys("g.json", out) != nil {
			t.Fatalf("a re-encoded document has a duplicate key: %s", out)
		}
	})
}
