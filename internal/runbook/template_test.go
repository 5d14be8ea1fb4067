package runbook

import (
	"strings"
	"testing"
)

func TestTemplatesOnlyNameFields(t *testing.T) {
	declared := map[string]bool{"deployed": true}
	for _, ok := range []string{"plain", "{{.Repo}} {{.Version}} {{.Plan}} {{.Ref}} {{.Commit}}", "{{ .Inputs.deployed }}", ""} {
		if _, err := compile(ok, declared); err != nil {
			t.Errorf("compile(%q): %v", ok, err)
		}
	}
	for text, want := range map[string]string{
		"{{if .Repo}}x{{end}}":      "is not allowed",
		"{{range .Inputs}}x{{end}}": "is not allowed",
		"{{with .Repo}}x{{end}}":    "is not allowed",
		`{{template "x"}}`:          "is not allowed",
		`{{define "x"}}y{{end}}`:    "{{define}} and {{block}} are not allowed",
		"{{.Repo | printf \"%q\"}}": "is not allowed",
		"{{printf \"%s\" .Repo}}":   "is not allowed",
		"{{$x := .Repo}}{{$x}}":     "is not allowed",
		"{{.Inputs.other}}":         `no earlier step declares the input "other"`,
		"{{.Verison}}":              "unknown template field {{.Verison}}",
		"{{.Repo.Name}}":            "unknown template field",
		"{{call .Repo}}":            "is not allowed",
		"{{.Repo":                   "invalid template",
	} {
		if _, err := compile(text, declared); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("compile(%q) = %v, want an error containing %q", text, err, want)
		}
	}
}

func TestRender(t *testing.T) {
	d := Data{Repo: "svc", Version: "v1.0.0", Plan: "p", Ref: "main", Commit: "abc", Inputs: map[string]string{"deployed": "v1; touch /tmp/x", "q": "it's"}}
	got, err := Shell("test {{.Inputs.deployed}} = {{.Version}} && echo {{.Inputs.q}}", d)
	if want := `test 'v1; touch /tmp/x' = v1.0.0 && echo "it's"`; err != nil || got != want {
		t.Errorf("Shell = %q, %v; want %q", got, err, want)
	}
	if _, err := Shell("echo {{.Inputs.missing}}", d); err == nil || !strings.Contains(err.Error(), `the input "missing" has not been given yet`) {
		t.Errorf("Shell with a missing input: %v", err)
	}
	if got, _ := Text("Deploy {{.Repo}} ({{.Inputs.missing}})", d); got != "Deploy svc (<input missing>)" {
		t.Errorf("Text = %q", got)
	}
	argv, err := Argv([]string{"deploy", "--version", "{{.Inputs.deployed}}"}, d)
	if err != nil || len(argv) != 3 || argv[2] != "v1; touch /tmp/x" {
		t.Errorf("Argv = %q, %v", argv, err)
	}
	big := Data{Inputs: map[string]string{"x": strings.Repeat("a", MaxRendered/4)}}
	if _, err := Text(strings.Repeat("{{.Inputs.x}}", 5), big); err == nil || !strings.Contains(err.Error(), "renders to more than") {
		t.Errorf("an oversized rendering: %v", err)
	}
	env := strings.Join(Env(d), "\n")
	for _, want := range []string{"CASCADE_REPO=svc", "CASCADE_VERSION=v1.0.0", "CASCADE_PLAN=p", "CASCADE_REF=main", "CASCADE_COMMIT=abc", "CASCADE_INPUT_DEPLOYED=v1; touch /tmp/x"} {
		if !strings.Contains(env, want) {
			t.Errorf("Env lacks %q:\n%s", want, env)
		}
	}
}

func TestUndeclaredInputInRunbook(t *testing.T) {
	_, err := Parse("svc@main:.cascade.yaml", []byte("release:\n  steps:\n    - name: Check\n      check: test {{.Inputs.v}} = x\n    - name: Deploy\n      manual: d\n      inputs: [v]\n"))
	if err == nil || !strings.Contains(err.Error(), `svc@main:.cascade.yaml:3: step "Check": {{.Inputs.v}}: no earlier step declares the input "v"`) {
		t.Errorf("an input used before it is declared: %v", err)
	}
	_, err = Parse("x", []byte("release:\n  steps:\n    - name: a\n      manual: [x]\n"))
	if err == nil || !strings.Contains(err.Error(), "only run and check take a list") {
		t.Errorf("a manual step as a list: %v", err)
	}
}
