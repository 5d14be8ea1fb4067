package report

import (
	"bytes"
	"testing"
)

// Every JSON document starts with its schema_version.
func TestJSONSchemaVersionFirst(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{map[string]int{"a": 1}, "{\n  \"schema_version\": 1,\n  \"a\": 1\n}\n"},
		{struct{}{}, "{\n  \"schema_version\": 1\n}\n"},
		{struct {
			V int `json:"schema_version"`
			A int `json:"a"`
		}{1, 2}, "{\n  \"schema_version\": 1,\n  \"a\": 2\n}\n"},
		{[]int{1}, "[\n  1\n]\n"},
		{map[string]string{"html": "<a>&"}, "{\n  \"schema_version\": 1,\n  \"html\": \"<a>&\"\n}\n"},
	} {
		var b bytes.Buffer
		if err := JSON(&b, c.in); err != nil {
			t.Fatal(err)
		}
		if b.String() != c.want {
			t.Errorf("JSON(%#v) = %q, want %q", c.in, b.String(), c.want)
		}
	}
}
