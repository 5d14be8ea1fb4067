package runbook

import (
	"os/exec"
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
	if want := `test 'v1; touch /tmp/x' = 'v1.0.0' && echo 'it'\''s'`; err != nil || got != want {
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

// TestTemplateInsideShellQuotes: a template inside quotes or a
// here-document of a shell command is refused with file:line (cascade's
// own quoting would end the user's quotes); bare, in a list, or in a
// manual step's text it is fine.
func TestTemplateInsideShellQuotes(t *testing.T) {
	for cmd, want := range map[string]string{
		`echo '{{.Version}}'`:                       "{{.Version}} is inside single quotes",
		`echo "v{{.Inputs.v}}"`:                     "{{.Inputs.v}} is inside double quotes",
		`echo $'{{.Repo}}'`:                         "{{.Repo}} is inside single quotes",
		`echo "${X:-{{.Ref}}}"`:                     "{{.Ref}} is inside double quotes",
		"cat <<EOF\n        {{.Plan}}\n        EOF": "{{.Plan}} is inside a here-document",
		"echo x # {{.Version}}":                     "{{.Version}} is in a comment",
		`echo \{{.Version}}`:                        "{{.Version}} is after a backslash",
		"echo `echo {{.Version}}`":                  "{{.Version}} is inside `...`",
		`echo $(( {{.Inputs.v}} + 1 ))`:             "{{.Inputs.v}} is inside arithmetic",
		`[[ 1 -eq {{.Inputs.v}} ]]`:                 "{{.Inputs.v}} is inside [[ ]]",
		`eval {{.Inputs.v}}`:                        "{{.Inputs.v}} is an argument of eval",
		`let x={{.Inputs.v}}`:                       "{{.Inputs.v}} is an argument of let",
		`trap {{.Inputs.v}} EXIT`:                   "{{.Inputs.v}} is an argument of trap",
		`. {{.Inputs.v}}`:                           "{{.Inputs.v}} is an argument of .",
		`source {{.Inputs.v}}`:                      "{{.Inputs.v}} is an argument of source",
		`declare x={{.Inputs.v}}`:                   "{{.Inputs.v}} is an argument of declare",
		`typeset x={{.Inputs.v}}`:                   "{{.Inputs.v}} is an argument of typeset",
		`echo ${X:-{{.Ref}}}`:                       "{{.Ref}} is inside a parameter expansion",
		`echo ${{.Ref}}`:                            "{{.Ref}} is inside a parameter expansion",
		`a[{{.Ref}}]=1`:                             "{{.Ref}} is in an assignment's name or index",
		`echo $'\'' {{.Version}} #'`:                "{{.Version}} is inside single quotes",
		`echo $(echo {{.Version}}) >{{.Ref}}`:       "",
		`X={{.Inputs.v}} sh -c 'echo "$X"'`:         "",
		`export X={{.Inputs.v}}`:                    "",
		`case {{.Ref}} in {{.Version}}) ;; esac`:    "",
		`for x in a {{.Ref}}; do echo "$x"; done`:   "",
		`echo {{.Version}} "$CASCADE_VERSION"`:      "",
		`test {{.Inputs.v}} = {{.Version}}`:         "",
		`echo 'plain' {{.Commit}}`:                  "",
		`command eval {{.Inputs.v}}`:                "{{.Inputs.v}} is an argument of eval",
		`builtin eval {{.Inputs.v}}`:                "{{.Inputs.v}} is an argument of eval",
		`\eval {{.Inputs.v}}`:                       "{{.Inputs.v}} is an argument of eval",
		`"eval" {{.Inputs.v}}`:                      "{{.Inputs.v}} is an argument of eval",
		`E=eval; $E {{.Inputs.v}}`:                  "{{.Inputs.v}} is an argument of a command whose name is computed",
		`sh -c {{.Inputs.v}}`:                       "{{.Inputs.v}} is the code sh -c runs",
		`/bin/bash -ec {{.Inputs.v}}`:               "{{.Inputs.v}} is the code bash -ec runs",
		`env A=1 sh -c {{.Inputs.v}}`:               "{{.Inputs.v}} is the code sh -c runs",
		`ssh deploy@host {{.Version}}`:              "{{.Version}} is an argument of ssh",
		`python3 -c {{.Inputs.v}}`:                  "{{.Inputs.v}} is the code python3 -c runs",
		`awk {{.Inputs.v}} file`:                    "{{.Inputs.v}} is the program awk runs",
		`sh -c 'deploy "$1"' sh {{.Version}}`:       "",
		`timeout 5 sh -c {{.Inputs.v}}`:             "{{.Inputs.v}} is the code sh -c runs",
		`nice -n 5 sh -c {{.Inputs.v}}`:             "{{.Inputs.v}} is the code sh -c runs",
		`sudo -u root sh -c {{.Inputs.v}}`:          "{{.Inputs.v}} is the code sh -c runs",
		`xargs -n 1 sh -c {{.Inputs.v}}`:            "{{.Inputs.v}} is the code sh -c runs",
		`sh -c -- {{.Inputs.v}}`:                    "{{.Inputs.v}} is the code sh -c runs",
		`sh -c -o errexit {{.Inputs.v}}`:            "{{.Inputs.v}} is the code sh -c runs",
		`env -S "sh -c" {{.Inputs.v}}`:              "{{.Inputs.v}} is an argument of env -S",
		`find . -exec sh -c {{.Inputs.v}} \;`:       "{{.Inputs.v}} is the code sh -c runs",
		`fish -c {{.Inputs.v}}`:                     "{{.Inputs.v}} is the code fish -c runs",
		`python3.11 -c {{.Inputs.v}}`:               "{{.Inputs.v}} is the code python3.11 -c runs",
		`awk -v a=1 {{.Inputs.v}} f`:                "{{.Inputs.v}} is the program awk runs",
		`awk -F , {{.Inputs.v}} f`:                  "{{.Inputs.v}} is the program awk runs",
		`jq --arg a b {{.Inputs.v}} f`:              "{{.Inputs.v}} is the program jq runs",
		`sed --expression={{.Inputs.v}} f`:          "{{.Inputs.v}} is the value of --expression",
		`node --eval={{.Inputs.v}}`:                 "{{.Inputs.v}} is the value of --eval",
		`tar --to-command={{.Inputs.v}} -xf a.tar`:  "{{.Inputs.v}} is the value of --to-command",
		`git -c core.pager={{.Inputs.v}} log`:       "{{.Inputs.v}} is a git setting given with -c",
		`rsync -e {{.Inputs.v}} a b`:                "{{.Inputs.v}} is the code rsync -e runs",
		`printf %s {{.Inputs.v}} | sh`:              "{{.Inputs.v}} is piped into sh, which reads its input as code",
		`echo {{.Inputs.v}} | sh -s`:                "{{.Inputs.v}} is piped into sh, which reads its input as code",
		`echo {{.Version}} | tee out | grep v`:      "",
		`echo {{.Version}} | sh deploy.sh`:          "",
		`awk -f prog.awk {{.Ref}}`:                  "",
		`deploy --version={{.Version}}`:             "",
		`sh -ce {{.Inputs.v}}`:                      "{{.Inputs.v}} is the code sh -ce runs",
		`bash -c -O extglob {{.Inputs.v}}`:          "{{.Inputs.v}} is the code bash -c runs",
		`python3 -c{{.Inputs.v}}`:                   "{{.Inputs.v}} is the code python3 -c runs",
		`printf %s {{.Inputs.v}} | xargs -0 sh -c`:  "{{.Inputs.v}} is piped into xargs sh, which reads its input as code",
		`printf %s {{.Inputs.v}} | sh /dev/stdin`:   "{{.Inputs.v}} is piped into sh, which reads its input as code",
		`printf %s {{.Inputs.v}} | sh -o errexit`:   "{{.Inputs.v}} is piped into sh, which reads its input as code",
		`sed -f /dev/null -e {{.Inputs.v}} f`:       "{{.Inputs.v}} is the code sed -e runs",
		`git config core.pager {{.Inputs.v}}`:       "{{.Inputs.v}} is a git setting",
		`go test -exec={{.Inputs.v}} ./...`:         "{{.Inputs.v}} is the value of -exec",
		`vim -c {{.Inputs.v}} f`:                    "{{.Inputs.v}} is the code vim -c runs",
		`sh -e deploy.sh {{.Version}}`:              "",
		`awk '{print $1}' {{.Ref}}`:                 "",
	} {
		doc := "release:\n  steps:\n    - name: Deploy\n      manual: d '{{.Version}}'\n      inputs: [v]\n    - name: Run\n      run: |\n        " + cmd + "\n"
		_, err := Parse("svc@main:.cascade.yaml", []byte(doc))
		switch {
		case want == "" && err != nil:
			t.Errorf("%q: %v", cmd, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), `svc@main:.cascade.yaml:6: step "Run": `+want)):
			t.Errorf("%q: got %v, want an error with %q", cmd, err, want)
		}
	}
	if _, err := Parse("x", []byte("release:\n  steps:\n    - name: a\n      run: [echo, \"'{{.Version}}'\"]\n")); err != nil {
		t.Errorf("a list runs without a shell, quotes are literal there: %v", err)
	}
	// A list whose command reads an argument as code is no shell-free
	// form for that argument.
	for list, want := range map[string]string{
		`[sh, -c, "echo deployed {{.Version}}"]`:            "{{.Version}} is the code sh -c runs",
		`[command, eval, "{{.Version}}"]`:                   "{{.Version}} is an argument of eval",
		`[timeout, "5", sh, -c, "{{.Version}}"]`:            "{{.Version}} is the code sh -c runs",
		`[sh, -c, 'deploy "$1"', sh, "{{.Version}}"]`:       "",
		`[env, X=1, bash, -c, 'echo "$X"', "{{.Version}}"]`: "",
	} {
		_, err := Parse("x", []byte("release:\n  steps:\n    - name: a\n      run: "+list+"\n"))
		switch {
		case want == "" && err != nil:
			t.Errorf("%s: %v", list, err)
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: got %v, want an error with %q", list, err, want)
		}
	}
}

// hostile are values that try to become shell syntax: quotes of every
// kind, bash's $'...' (which dash, the usual /bin/sh, does not read),
// a no-break space and other non-ASCII or control bytes that made the
// bash quoting fall back to $'...', expansions, newlines, invalid UTF-8.
var hostile = []string{
	"", " ", "plain", "v1.0.0", "-n", "--", "*", "~", "~root", "a b", "a\tb", "a\nb", "\n",
	"'", "''", "\\'", "'\\''", `"`, `\`, `\\`, "a\\", "$", "$x", "${x}", "$(id)", "`id`", "$((6+7))",
	"!", "!!", "#", ";", "&", "|", "<", ">", "(", ")", "{", "}", "[", "]", "=", "a=b",
	"v1; touch /tmp/x", "x'; touch /tmp/x; '",
	"feature\u00a0';echo${IFS}INJECTED$((6+7));#",
	"v0.9.0\u00a0';true;#",
	"\u00a0'", "$'\\''", "$'\\x27;id;#'", "é'", "\u202e'", "\u2028'", "\ufeff'",
	"\x01'", "\x1b[31m'", "\x7f'", "\r'", "\x80'", "\xff'\xfe", "\xe2\x80'", "\xa4'",
	"a'\n;echo INJECTED\n#",
	strings.Repeat("'", 100), strings.Repeat("x'\\", 50),
}

// shells are the shells a run or check step may meet as `sh`.
func shells(t *testing.T) [][]string {
	var out [][]string
	for _, sh := range [][]string{{"sh"}, {"dash"}, {"bash"}, {"bash", "--posix"}, {"busybox", "sh"}, {"zsh", "--emulate", "sh"}} {
		if _, err := exec.LookPath(sh[0]); err == nil {
			out = append(out, sh)
		}
	}
	if len(out) < 2 {
		t.Fatalf("want at least sh and bash to run the commands, found %v", out)
	}
	return out
}

// TestShellValuesReachCommandsIntact runs rendered commands through the
// real shells: each value must arrive as exactly one argument equal to
// it, whatever it holds, in every placement the runbook allows.
func TestShellValuesReachCommandsIntact(t *testing.T) {
	for _, sh := range shells(t) {
		for _, v := range hostile {
			d := Data{Repo: "svc", Version: "v1.0.0", Plan: "p", Ref: v, Commit: "abc", Inputs: map[string]string{"v": v}}
			for _, tmpl := range []string{
				`set -- {{.Ref}}; printf '%s|%s' "$#" "$1"`,
				`set -- x{{.Inputs.v}}y; printf '%s|%s' "$#" "$1"`,
				`X={{.Inputs.v}}; set -- "$X"; printf '%s|%s' "$#" "$1"`,
				`R=$(printf '%s' {{.Inputs.v}}; echo .); printf '1|%s' "${R%.}"`,
			} {
				if err := checkShellPlacement(tmpl); err != nil {
					t.Fatalf("%q: %v", tmpl, err)
				}
				cmd, err := Shell(tmpl, d)
				if err != nil {
					t.Fatalf("Shell(%q) with %q: %v", tmpl, v, err)
				}
				out, err := exec.Command(sh[0], append(sh[1:], "-c", cmd)...).Output()
				want := "1|" + v
				switch {
				case strings.Contains(tmpl, "x{{"):
					want = "1|x" + v + "y"
				}
				if err != nil || string(out) != want {
					t.Errorf("%v -c %q (value %q): got %q, %v; want %q", sh, cmd, v, out, err, want)
				}
			}
		}
	}
}

func TestQuoteRefusesNUL(t *testing.T) {
	if _, err := Shell("echo {{.Ref}}", Data{Ref: "a\x00b"}); err == nil || !strings.Contains(err.Error(), "NUL") {
		t.Errorf("a value with NUL: %v", err)
	}
}

// FuzzQuote: any value without NUL reaches dash and bash as one argument
// equal to it.
func FuzzQuote(f *testing.F) {
	for _, v := range hostile {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		q, err := Quote(v)
		if strings.IndexByte(v, 0) >= 0 {
			if err == nil {
				t.Fatal("a value with NUL quoted")
			}
			return
		}
		for _, sh := range []string{"dash", "bash"} {
			out, err := exec.Command(sh, "-c", `printf '%s|%s' "$#" "$1"`+"\n"+`set -- `+q+`; printf '/%s|%s' "$#" "$1"`, "sh").Output()
			if want := "0|/1|" + v; err != nil || string(out) != want {
				t.Fatalf("%s with %s: got %q, %v; want %q", sh, q, out, err, want)
			}
		}
	})
}
