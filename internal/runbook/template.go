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
				q, err := Quote(v)
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

// Quote returns v as one POSIX shell word: v in single quotes, each
// single quote in v written as quote, backslash, quote, quote (end the
// quoted text, an escaped quote, quote again). Every byte but NUL stands
// for itself inside single quotes in every POSIX shell (dash, bash, bash
// as sh, busybox, zsh as sh), whatever the locale, so the word is v. It
// never uses bash's $'...' (dash, the usual /bin/sh, reads $'a\'b' as "$"
// and 'a\' and the rest of the value as shell syntax) and it quotes even
// a plain value, so no value's shape decides how it is read. A value
// holding NUL cannot reach a command at all and is refused.
func Quote(v string) (string, error) {
	if strings.IndexByte(v, 0) >= 0 {
		return "", fmt.Errorf("the value holds a NUL byte, which no command argument can hold")
	}
	return "'" + strings.ReplaceAll(v, "'", `'\''`) + "'", nil
}

// Word is s as one word of a POSIX shell command line, for a person to
// read or paste: as it is when it holds only characters no shell treats
// specially, else in single quotes.
func Word(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./@:+-=,%") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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

// checkShellPlacement refuses a template placed where cascade's quoting of
// its value (one single-quoted word, see Quote) would not make it one
// plain argument: inside quotes or a here-document (inside '...' the
// value's quotes end the user's: '{{.Version}}' with "x'; rm -rf ~; '"
// runs rm; inside "..." or a here-document the shell expands $(...) in
// it), in a comment (a newline in the value ends it), after a backslash
// (which escapes the opening quote), inside `...` (its end is found
// before quotes are read), in a parameter expansion, arithmetic, bash's
// [[ ]], or the words of eval, let, trap, declare and typeset (which read
// their arguments as code or arithmetic). The command is parsed both as
// POSIX sh (what `sh -c` runs on dash) and as bash (sh on other systems),
// with each template replaced by a plain word; it must sit in a plain
// word in both.
func checkShellPlacement(text string) error {
	pieces, err := compile(text, nil)
	if err != nil || len(pieces) == 0 {
		return err
	}
	var b strings.Builder
	names := map[string]string{}
	var marks []string
	for i, p := range pieces {
		if p.field == nil {
			b.WriteString(p.text)
			continue
		}
		mark := fmt.Sprintf("cascadetemplate%dx", i)
		names[mark] = "{{." + strings.Join(p.field, ".") + "}}"
		marks = append(marks, mark)
		b.WriteString(mark)
	}
	if len(marks) == 0 {
		return nil
	}
	for _, lang := range []syntax.LangVariant{syntax.LangPOSIX, syntax.LangBash} {
		file, err := syntax.NewParser(syntax.Variant(lang)).Parse(strings.NewReader(b.String()), "")
		if err != nil {
			return fmt.Errorf("the command is not valid shell: %v (read as %s)", err, lang)
		}
		seen := map[string]bool{}
		var found error
		var stack []syntax.Node
		syntax.Walk(file, func(n syntax.Node) bool {
			if found != nil {
				return false
			}
			if n == nil {
				stack = stack[:len(stack)-1]
				return true
			}
			var leaf string
			switch n := n.(type) {
			case *syntax.Lit:
				leaf = n.Value
			case *syntax.SglQuoted:
				leaf = n.Value
			}
			if leaf != "" {
				for _, mark := range marks {
					if !strings.Contains(leaf, mark) {
						continue
					}
					seen[mark] = true
					where := placement(append(stack, n))
					if where == "" && strings.Contains(leaf, `\`+mark) {
						where = "after a backslash"
					}
					if where != "" {
						found = fmt.Errorf("%s is %s: cascade gives each value as one single-quoted shell word, which is safe only as a plain argument; write it bare (%s), use its environment variable (\"$CASCADE_...\"), or give the command as a list", names[mark], where, names[mark])
						return false
					}
				}
			}
			stack = append(stack, n)
			return true
		})
		if found != nil {
			return found
		}
		for _, mark := range marks {
			if !seen[mark] {
				return fmt.Errorf("%s is in a comment or outside any command word: a newline in its value would end the comment; write it bare as an argument, or use its environment variable (\"$CASCADE_...\")", names[mark])
			}
		}
	}
	return nil
}

// staticWord is the word as the command receives it when no expansion
// computes it (quotes and backslashes removed), and whether it is
// computed (a variable, a command substitution, a glob's result...).
func staticWord(w *syntax.Word) (string, bool) {
	var b strings.Builder
	var add func(parts []syntax.WordPart) bool
	add = func(parts []syntax.WordPart) bool {
		for _, p := range parts {
			switch p := p.(type) {
			case *syntax.Lit:
				b.WriteString(strings.ReplaceAll(p.Value, `\`, ""))
			case *syntax.SglQuoted:
				b.WriteString(p.Value)
			case *syntax.DblQuoted:
				if !add(p.Parts) {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	if !add(w.Parts) {
		return "", true
	}
	return b.String(), false
}

// placement says where the last node of path (a literal) sits when that
// is not a plain word of a command, or "" when it is one; the outermost
// such place is named.
func placement(path []syntax.Node) string {
	for i := 0; i < len(path); i++ {
		var child syntax.Node
		if i+1 < len(path) {
			child = path[i+1]
		}
		switch n := path[i].(type) {
		case *syntax.Lit:
		case *syntax.BinaryCmd:
			// What the left side of a pipe prints, a shell on the right
			// may read as code: printf %s {{.Inputs.x}} | sh.
			if (n.Op == syntax.Pipe || n.Op == syntax.PipeAll) && child == syntax.Node(n.X) {
				var reader string
				syntax.Walk(n.Y, func(m syntax.Node) bool {
					if c, ok := m.(*syntax.CallExpr); ok && reader == "" {
						words := make([]string, len(c.Args))
						for j, w := range c.Args {
							words[j], _ = staticWord(w)
						}
						if name, ok := readsStdinAsCode(words); ok {
							reader = name
						}
					}
					return reader == ""
				})
				if reader != "" {
					return "piped into " + reader + ", which reads its input as code"
				}
			}
		case *syntax.Word, *syntax.File, *syntax.Stmt, *syntax.Block, *syntax.Subshell,
			*syntax.IfClause, *syntax.WhileClause, *syntax.FuncDecl,
			*syntax.CaseItem, *syntax.TimeClause, *syntax.CoprocClause, *syntax.WordIter,
			*syntax.ProcSubst:
		case *syntax.ForClause:
			if _, ok := n.Loop.(*syntax.WordIter); !ok {
				return "in an arithmetic for loop"
			}
		case *syntax.CmdSubst:
			if n.Backquotes {
				return "inside `...` (use $(...))"
			}
		case *syntax.CallExpr:
			words := make([]string, len(n.Args))
			dynamic := make([]bool, len(n.Args))
			at := -1
			for j, w := range n.Args {
				words[j], dynamic[j] = staticWord(w)
				if syntax.Node(w) == child {
					at = j
				}
			}
			if at > 0 {
				if why := codeArgument(words, dynamic, at); why != "" {
					return why
				}
			}
		case *syntax.Assign:
			if child != syntax.Node(n.Value) {
				return "in an assignment's name or index"
			}
		case *syntax.ArrayExpr:
		case *syntax.ArrayElem:
			if child != syntax.Node(n.Value) {
				return "in an array index"
			}
		case *syntax.DeclClause:
			if v := n.Variant.Value; v == "declare" || v == "typeset" || v == "nameref" {
				return "an argument of " + v + ", which reads it as code"
			}
		case *syntax.Redirect:
			if n.Hdoc != nil {
				return "inside a here-document"
			}
		case *syntax.CaseClause:
		case *syntax.SglQuoted:
			return "inside single quotes"
		case *syntax.DblQuoted:
			return "inside double quotes"
		case *syntax.ParamExp:
			return "inside a parameter expansion ${...}"
		case *syntax.ArithmExp, *syntax.ArithmCmd, *syntax.LetClause, *syntax.BinaryArithm, *syntax.UnaryArithm, *syntax.ParenArithm:
			return "inside arithmetic"
		case *syntax.TestClause, *syntax.BinaryTest, *syntax.UnaryTest, *syntax.ParenTest:
			return "inside [[ ]]"
		default:
			return fmt.Sprintf("inside a %T", n)
		}
	}
	return ""
}
