package runbook

import (
	"fmt"
	"sort"
	"strings"
	"text/template/parse"

	"mvdan.cc/sh/v3/syntax"
)

// MaxRendered caps what one template renders to.
const MaxRendered = 64 << 10

// fields are the names a template may use besides .Inputs.NAME.
var fields = []string{"Repo", "Version", "Plan", "Ref", "Commit"}

const fieldHelp = "use {{.Repo}}, {{.Version}}, {{.Plan}}, {{.Ref}}, {{.Commit}} or {{.Inputs.NAME}}"

// piece is a literal text (field == nil) or a field reference.
type piece struct {
	text  string
	field []string
}

// compile parses a step template, allowing only text and field access. With
// declared non-nil, {{.Inputs.X}} must name a declared input.
func compile(text string, declared map[string]bool) ([]piece, error) {
	trees, err := parse.Parse("step", text, "{{", "}}")
	if err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		if strings.HasPrefix(msg, "function ") && strings.HasSuffix(msg, " not defined") {
			return nil, fmt.Errorf("%s is not allowed: a step template only names fields (no functions); %s", strings.TrimSuffix(msg, " not defined"), fieldHelp)
		}
		return nil, fmt.Errorf("invalid template: %s", msg)
	}
	if len(trees) > 1 {
		return nil, fmt.Errorf("invalid template: {{define}} and {{block}} are not allowed; %s", fieldHelp)
	}
	tree := trees["step"]
	if tree == nil || tree.Root == nil {
		return nil, nil
	}
	var out []piece
	for _, n := range tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			out = append(out, piece{text: string(n.Text)})
		case *parse.ActionNode:
			f, ok := fieldOf(n)
			if !ok {
				return nil, fmt.Errorf("%s is not allowed: a step template only names fields; %s", n.String(), fieldHelp)
			}
			if err := checkField(f, declared); err != nil {
				return nil, err
			}
			out = append(out, piece{field: f})
		default:
			return nil, fmt.Errorf("%s is not allowed: a step template only names fields (no if, range, with, template or functions); %s", n.String(), fieldHelp)
		}
	}
	return out, nil
}

func fieldOf(n *parse.ActionNode) ([]string, bool) {
	p := n.Pipe
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) != 1 || len(p.Cmds[0].Args) != 1 {
		return nil, false
	}
	f, ok := p.Cmds[0].Args[0].(*parse.FieldNode)
	if !ok {
		return nil, false
	}
	return f.Ident, true
}

func checkField(f []string, declared map[string]bool) error {
	ref := "{{." + strings.Join(f, ".") + "}}"
	if len(f) == 1 {
		for _, k := range fields {
			if f[0] == k {
				return nil
			}
		}
	}
	if len(f) == 2 && f[0] == "Inputs" {
		if declared != nil && !declared[f[1]] {
			return fmt.Errorf("%s: no earlier step declares the input %q; declare it with `inputs: [%s]` on the manual step that asks for it", ref, f[1], f[1])
		}
		return nil
	}
	return fmt.Errorf("unknown template field %s; %s", ref, fieldHelp)
}

func (d Data) value(f []string) (string, bool) {
	if len(f) == 2 {
		v, ok := d.Inputs[f[1]]
		return v, ok
	}
	switch f[0] {
	case "Repo":
		return d.Repo, true
	case "Version":
		return d.Version, true
	case "Plan":
		return d.Plan, true
	case "Ref":
		return d.Ref, true
	case "Commit":
		return d.Commit, true
	}
	return "", false
}

// Text renders a template for a person (a step's name, a manual step's
// instruction). An input not given yet shows as <input NAME>.
func Text(text string, d Data) (string, error) {
	return render(text, d, false)
}

// Shell renders a run or check command: every value is quoted as one
// shell word, so that no value becomes shell syntax. An input not given
// is an error.
func Shell(text string, d Data) (string, error) {
	return render(text, d, true)
}

func render(text string, d Data, shell bool) (string, error) {
	pieces, err := compile(text, nil)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for _, p := range pieces {
		if p.field == nil {
			b.WriteString(p.text)
		} else {
			v, ok := d.value(p.field)
			switch {
			case !ok && shell:
				return "", fmt.Errorf("the input %q has not been given yet", p.field[len(p.field)-1])
			case !ok:
				v = "<input " + p.field[len(p.field)-1] + ">"
			case shell:
				q, err := syntax.Quote(v, syntax.LangBash)
				if err != nil {
					return "", fmt.Errorf("{{.%s}} cannot be given to a shell: %v", strings.Join(p.field, "."), err)
				}
				v = q
			}
			b.WriteString(v)
		}
		if b.Len() > MaxRendered {
			return "", fmt.Errorf("the template renders to more than %d bytes", MaxRendered)
		}
	}
	return b.String(), nil
}

// Argv renders a command given as a list: each element is one argument,
// whatever its value holds; no shell runs it.
func Argv(argv []string, d Data) ([]string, error) {
	out := make([]string, len(argv))
	for i, a := range argv {
		v, err := Text(a, d)
		if err != nil {
			return nil, err
		}
		if strings.Contains(v, "<input ") {
			if _, err := Shell(a, d); err != nil {
				return nil, err
			}
		}
		out[i] = v
	}
	return out, nil
}

// Env is the environment a run or check command gets: CASCADE_REPO,
// CASCADE_VERSION, CASCADE_PLAN, CASCADE_REF, CASCADE_COMMIT and
// CASCADE_INPUT_NAME (upper-cased) for every input given so far.
func Env(d Data) []string {
	env := []string{"CASCADE_REPO=" + d.Repo, "CASCADE_VERSION=" + d.Version, "CASCADE_PLAN=" + d.Plan, "CASCADE_REF=" + d.Ref, "CASCADE_COMMIT=" + d.Commit}
	var names []string
	for k := range d.Inputs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		env = append(env, "CASCADE_INPUT_"+strings.ToUpper(k)+"="+d.Inputs[k])
	}
	return env
}

// Names renders the step names of a runbook for data d.
func Names(specs []Spec, d Data) []string {
	var out []string
	for _, s := range specs {
		n, err := Text(s.Name, d)
		if err != nil {
			n = s.Name
		}
		out = append(out, n)
	}
	return out
}
