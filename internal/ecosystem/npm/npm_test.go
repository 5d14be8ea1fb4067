package npm

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParse(t *testing.T) {
	p, err := Parse("package.json", []byte(`{
  "name": "@o/web", "version": "1.2.3", "private": true,
  "dependencies": {"b": "^1.0.0", "a": "npm:@o/real@^2"},
  "devDependencies": {"t": "~3"},
  "peerDependencies": {"react": ">=18"},
  "optionalDependencies": {"fs-ext": "*"}
}`))
	if err != nil {
		t.Fatal(err)
	}
	want := &Package{Name: "@o/web", Version: "1.2.3", Private: true, Deps: []Dep{
		{Name: "a", Target: "@o/real", Spec: "npm:@o/real@^2", Kind: Prod},
		{Name: "b", Target: "b", Spec: "^1.0.0", Kind: Prod},
		{Name: "t", Target: "t", Spec: "~3", Kind: Dev},
		{Name: "react", Target: "react", Spec: ">=18", Kind: Peer},
		{Name: "fs-ext", Target: "fs-ext", Spec: "*", Kind: Optional},
	}}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		data      string
		line, col int
		msg       string
	}{
		{"{\n  \"name\": \"x\",\n  oops\n}", 3, 3, "invalid JSON: invalid character 'o' looking for beginning of object key string"},
		{`{"name": 3}`, 1, 10, `field "name" must be a string, not number`},
		{`{"dependencies": []}`, 1, 18, `field "dependencies" must be an object of name: range, not array`},
		{`{"dependencies": {"x": 1}}`, 0, 0, "dependencies.x must be a string (a version range, URL or path)"},
		{`{"name": "x"`, 1, 12, "invalid JSON: unexpected end of JSON input"},
	}
	for _, tt := range tests {
		_, err := Parse("p.json", []byte(tt.data))
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("Parse(%q) = %v, want a ParseError", tt.data, err)
			continue
		}
		if pe.Line != tt.line || pe.Col != tt.col || pe.Msg != tt.msg {
			t.Errorf("Parse(%q) = %d:%d %q, want %d:%d %q", tt.data, pe.Line, pe.Col, pe.Msg, tt.line, tt.col, tt.msg)
		}
	}
}

func TestGitRepoName(t *testing.T) {
	for spec, want := range map[string]string{
		"git+https://git.example.com/org/clever-schemas.git#v1.0.0": "clever-schemas",
		"git+ssh://git@git.example.com:org/clever-schemas.git":      "clever-schemas",
		"git://git.example.com/org/repo":                            "repo",
		"github:org/repo#main":                                      "repo",
		"org/repo":                                                  "repo",
		"https://git.example.com/org/repo.git":                      "repo",
		"^1.0.0":                                                    "",
		"file:../x":                                                 "",
		"@scope/pkg":                                                "",
		"latest":                                                    "",
		"https://registry.example.com/pkg.tgz":                      "",
	} {
		got, ok := GitRepoName(spec)
		if got != want || ok != (want != "") {
			t.Errorf("GitRepoName(%q) = %q, %v; want %q", spec, got, ok, want)
		}
	}
	if p, ok := FilePath("file:../schemas"); !ok || p != "../schemas" {
		t.Errorf("FilePath = %q, %v", p, ok)
	}
	if _, ok := FilePath("^1"); ok {
		t.Error("FilePath accepted a range")
	}
}
