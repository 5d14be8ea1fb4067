package npm

import (
	"fmt"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"
)

// The test runners cascade knows, by the names InstrumentScript returns.
const (
	NodeTest = "node --test"
	Ava      = "ava"
	Jest     = "jest"
	Vitest   = "vitest"
	Mocha    = "mocha"
	Tap      = "tap"
)

// InstrumentScript rewrites an npm script (the value of scripts.test, or a
// custom test command from the repo's .cascade.yaml, both run by sh) so
// that every test runner cascade knows reports each test machine-readably:
// on stdout as TAP where the runner can (node --test, ava, mocha, tap),
// else into a file under reportDir (jest and vitest write JSON there).
// reportDir must be an absolute directory; its path is shell-quoted in the
// script. It returns the script and the runners it found, in order:
// "node --test", "ava", "jest", "vitest", "mocha", "tap".
//
// A script it cannot parse, or with no known runner, is returned unchanged
// with no runners. Only runner commands change, and only by added
// arguments: the user's own arguments stay, and nothing taken from the
// script's text is added. A runner whose own arguments already choose a
// report file of their own (jest or vitest --outputFile, mocha or node-tap
// --reporter json, xunit or junit) is left alone and not returned: the
// repo may name that file for ReadReport.
func InstrumentScript(script, reportDir string) (string, []string) {
	n := 0
	out, found := instrument(script, reportDir, &n)
	return out, uniq(found)
}

// instrument is InstrumentScript numbering report files from *n on, so
// that several scripts can share one reportDir without clobbering; it
// returns every runner invocation it found, in order.
func instrument(script, reportDir string, n *int) (string, []string) {
	if !filepath.IsAbs(reportDir) {
		return script, nil
	}
	f, err := parseScript(script)
	if err != nil {
		return script, nil
	}
	type insertion struct {
		at   uint
		text string
	}
	var ins []insertion
	var found []string
	failed := false
	syntax.Walk(f, func(node syntax.Node) bool {
		switch x := node.(type) {
		case *syntax.CmdSubst, *syntax.ProcSubst:
			// Output captured by the script itself is the script's.
			return false
		case *syntax.CallExpr:
			e, ok := runnerEdit(x, reportDir, n)
			if !ok {
				return true
			}
			found = append(found, e.runner)
			if len(e.args) == 0 {
				return true
			}
			text, err := quoteArgs(e.args)
			if err != nil {
				failed = true
				return false
			}
			if e.before {
				ins = append(ins, insertion{e.at, text + " "})
			} else {
				ins = append(ins, insertion{e.at, " " + text})
			}
		}
		return true
	})
	if failed {
		return script, nil
	}
	sort.SliceStable(ins, func(i, j int) bool { return ins[i].at > ins[j].at })
	out := script
	for _, in := range ins {
		if in.at > 0 && script[in.at-1] == '\\' {
			// After a backslash (a line continuation at the end), the
			// space before the arguments would be escaped into them.
			return script, nil
		}
		out = out[:in.at] + in.text + out[in.at:]
	}
	if _, err := parseScript(out); err != nil {
		return script, nil
	}
	return out, found
}

func parseScript(s string) (*syntax.File, error) {
	return syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(s), "")
}

// quoteArgs renders arguments as shell words: as they are when they hold
// only characters the shell never interprets in an argument, else quoted.
func quoteArgs(args []string) (string, error) {
	q := make([]string, len(args))
	for i, a := range args {
		if a != "" && strings.Trim(a, plainChars) == "" {
			q[i] = a
			continue
		}
		s, err := syntax.Quote(a, syntax.LangPOSIX)
		if err != nil {
			return "", err
		}
		q[i] = s
	}
	return strings.Join(q, " "), nil
}

const plainChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-+=@%:,./"

func uniq(list []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// edit is the arguments to add to one runner command, inserted at byte
// offset at of the script: after the word there, or before it.
type edit struct {
	runner string
	args   []string
	at     uint
	before bool
}

// runnerEdit finds a known runner in a simple command, possibly behind
// wrappers (npx, c8, nyc, cross-env, env, dotenv, npm exec, ...), and says
// which arguments make it report machine-readably.
func runnerEdit(call *syntax.CallExpr, reportDir string, n *int) (edit, bool) {
	words := make([]string, len(call.Args))
	lit := make([]bool, len(call.Args))
	for i, w := range call.Args {
		words[i], lit[i] = literal(w)
	}
	runner, i := findRunner(words, lit, 0)
	if runner == "" {
		return edit{}, false
	}
	rest := words[i+1:]
	after := call.Args[i].End().Offset()
	// atEnd places arguments after the user's (where the last of a repeated
	// option wins) but before a "--" that ends the options.
	atEnd := func() (uint, bool) {
		for k := i + 1; k < len(words); k++ {
			if lit[k] && words[k] == "--" {
				return call.Args[k].Pos().Offset(), true
			}
		}
		return call.Args[len(call.Args)-1].End().Offset(), false
	}
	file := func(ext string) string {
		*n++
		slug := strings.ReplaceAll(runner, " --", "-")
		return filepath.Join(reportDir, fmt.Sprintf("%d-%s.%s", *n, slug, ext))
	}
	switch runner {
	case NodeTest:
		args, ok := nodeReporterArgs(rest, file)
		if !ok {
			return edit{}, false
		}
		return edit{runner: runner, args: args, at: after}, true
	case Ava:
		if hasFlag(rest, "--tap", "-t") {
			return edit{runner: runner, at: after}, true
		}
		return edit{runner: runner, args: []string{"--tap"}, at: after}, true
	case Jest:
		if hasFlag(rest, "--outputFile", "--output-file") {
			return edit{}, false
		}
		var args []string
		if !hasFlag(rest, "--json") {
			args = append(args, "--json")
		}
		args = append(args, "--outputFile="+file("json"))
		return edit{runner: runner, args: args, at: after}, true
	case Vitest:
		if hasFlag(rest, "--outputFile", "--outputFile.json", "--output-file", "--output-file.json") || vitestOther[firstPositional(rest)] {
			// Output the user claimed, or bench, list, init: not a test run.
			return edit{}, false
		}
		var args []string
		if !hasFlag(rest, "--reporter") {
			// Keep the human-readable output beside the JSON report.
			args = append(args, "--reporter=default")
		}
		args = append(args, "--reporter=json", "--outputFile.json="+file("json"))
		return edit{runner: runner, args: args, at: after}, true
	case Mocha, Tap:
		if runner == Tap && tapOther[firstPositional(rest)] {
			return edit{}, false
		}
		switch r := optionValue(rest, "--reporter", "-R"); {
		case r == "tap":
			return edit{runner: runner}, true
		case machineReporters[r]:
			// The repo writes its own report; .cascade.yaml may name it.
			return edit{}, false
		}
		// Last, where a repeated --reporter wins over the user's.
		at, before := atEnd()
		args := []string{"--reporter=tap"}
		if runner == Mocha {
			args = append(args, "--reporter-option=tapVersion=13")
		}
		return edit{runner: runner, args: args, at: at, before: before}, true
	}
	return edit{}, false
}

// machineReporters are mocha's and node-tap's machine-readable reporters
// other than TAP: a script that chose one writes a report of its own.
var machineReporters = map[string]bool{
	"json": true, "json-stream": true, "jsonstream": true, "xunit": true, "junit": true,
}

var (
	vitestOther = map[string]bool{"bench": true, "list": true, "init": true}
	tapOther    = map[string]bool{"report": true, "replay": true, "plugin": true, "build": true, "version": true,
		"help": true, "list": true, "debug": true, "config": true, "versions": true}
)

// nodeReporterArgs returns the arguments that make `node --test` print TAP
// on stdout, or, when the user chose reporters, add a TAP reporter writing
// to a file beside them. ok is false when the user's reporter options are
// inconsistent (node would refuse them anyway).
func nodeReporterArgs(args []string, file func(string) string) ([]string, bool) {
	var reporters, dests []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || !strings.HasPrefix(a, "-") {
			break
		}
		name, value, hasValue := strings.Cut(a, "=")
		if !hasValue && nodeValueOptions[a] && i+1 < len(args) {
			i++
			value = args[i]
		}
		switch name {
		case "--test-reporter":
			reporters = append(reporters, value)
		case "--test-reporter-destination":
			dests = append(dests, value)
		}
	}
	switch {
	case len(reporters) == 0:
		return []string{"--test-reporter=tap"}, true
	case len(reporters) == 1 && reporters[0] == "tap" && (len(dests) == 0 || dests[0] == "stdout"):
		return nil, true
	case len(dests) == len(reporters):
		return []string{"--test-reporter=tap", "--test-reporter-destination=" + file("tap")}, true
	case len(dests) == 0 && len(reporters) == 1:
		// Node pairs reporters and destinations in order: ours first, then
		// the user's reporter on stdout as before.
		return []string{"--test-reporter=tap", "--test-reporter-destination=" + file("tap"), "--test-reporter-destination=stdout"}, true
	}
	return nil, false
}

// nodeValueOptions are node options whose value may be the next argument.
var nodeValueOptions = map[string]bool{
	"-r": true, "--require": true, "--import": true, "--loader": true, "--experimental-loader": true,
	"-C": true, "--conditions": true, "--input-type": true, "--env-file": true,
	"--test-reporter": true, "--test-reporter-destination": true, "--test-name-pattern": true,
	"--test-skip-pattern": true, "--test-concurrency": true, "--test-timeout": true, "--test-shard": true,
	"--watch-path": true, "--title": true, "--redirect-warnings": true, "--disable-warning": true,
	"--inspect-port": true, "--experimental-test-coverage-include": true, "--test-coverage-include": true,
	"--test-coverage-exclude": true, "--test-global-setup": true,
}

var runnerCommands = map[string]string{
	"ava": Ava, "jest": Jest, "vitest": Vitest, "mocha": Mocha, "_mocha": Mocha, "tap": Tap,
}

// wrappers run the command that follows their own options.
var wrappers = map[string]bool{
	"npx": true, "pnpx": true, "bunx": true, "c8": true, "nyc": true, "cross-env": true, "env": true,
	"dotenv": true, "nice": true, "nohup": true, "npm": true, "pnpm": true, "yarn": true,
	"exec": true, "command": true,
}

// wrapperSubcommands are the first words after npm, pnpm or yarn that run
// a package's binary.
var wrapperSubcommands = map[string]bool{"exec": true, "x": true, "dlx": true}

// findRunner returns the runner the command words from start on run and
// the index of the word to add arguments after, or "" when they run none.
func findRunner(words []string, lit []bool, start int) (string, int) {
	if start >= len(words) || !lit[start] {
		return "", 0
	}
	name := commandName(words[start])
	if r, ok := runnerCommands[name]; ok && (!strings.Contains(words[start], "/") || isRunnerScript(words[start])) {
		return r, start
	}
	switch {
	case name == "node":
		return findNodeRunner(words, lit, start)
	case wrappers[name]:
		pm := name == "npm" || name == "pnpm" || name == "yarn"
		prevOption := false
		for j := start + 1; j < len(words); j++ {
			w := words[j]
			if !lit[j] {
				return "", 0
			}
			switch {
			case strings.HasPrefix(w, "-"):
				if (name == "npx" && (w == "-c" || w == "--call")) || (name == "env" && w == "-S") {
					return "", 0 // the command is one string
				}
				prevOption = !strings.Contains(w, "=") && w != "--"
				if name == "npx" && (w == "-p" || w == "--package") {
					j++
					prevOption = false
				}
				continue
			case isAssignment(w):
				prevOption = false
				continue
			case pm && j == start+1:
				if name == "npm" && !wrapperSubcommands[w] {
					return "", 0 // npm test, npm run X: not a binary
				}
				if wrapperSubcommands[w] {
					continue
				}
			}
			if r, i := findRunner(words, lit, j); r != "" {
				return r, i
			}
			if prevOption {
				// The value of the option before it (c8 -r lcov ava).
				prevOption = false
				continue
			}
			return "", 0
		}
	}
	return "", 0
}

// findNodeRunner handles `node [options] [script]`: node's own test runner,
// or a runner's bin script (node node_modules/jest/bin/jest.js).
func findNodeRunner(words []string, lit []bool, start int) (string, int) {
	for j := start + 1; j < len(words); j++ {
		if !lit[j] {
			return "", 0
		}
		w := words[j]
		switch {
		case w == "--test":
			return NodeTest, start
		case w == "-e" || w == "--eval" || w == "-p" || w == "--print" || w == "--":
			return "", 0
		case strings.HasPrefix(w, "-"):
			if nodeValueOptions[w] {
				j++
			}
			continue
		}
		// The script node runs.
		if r, ok := runnerCommands[commandName(w)]; ok && isRunnerScript(w) {
			return r, j
		}
		return "", 0
	}
	return "", 0
}

// isRunnerScript reports a path to a runner's executable (a .bin link or
// the bin file inside the package), not a test file that happens to share
// the runner's name.
func isRunnerScript(p string) bool {
	dir := path.Base(path.Dir(p))
	return dir == ".bin" || dir == "bin" || path.Base(path.Dir(path.Dir(p))) == "node_modules"
}

// commandName is the runner or tool a command word names: its base name
// without a version (jest@29) or a .js extension.
func commandName(w string) string {
	base := path.Base(w)
	if i := strings.LastIndex(base, "@"); i > 0 {
		base = base[:i]
	}
	for _, ext := range []string{".js", ".mjs", ".cjs"} {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}

func isAssignment(w string) bool {
	i := strings.IndexByte(w, '=')
	if i <= 0 {
		return false
	}
	for k, r := range w[:i] {
		if !(r == '_' || r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || k > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// hasFlag reports whether args (up to a "--") hold one of the flags, alone
// or as flag=value.
func hasFlag(args []string, flags ...string) bool {
	for _, a := range args {
		if a == "--" {
			return false
		}
		for _, f := range flags {
			if a == f || strings.HasPrefix(a, f+"=") {
				return true
			}
		}
	}
	return false
}

// optionValue returns the value of the last of the named options in args
// (up to a "--"), given as "--name value", "--name=value" or "-Rvalue".
func optionValue(args []string, names ...string) string {
	v := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		for _, n := range names {
			switch {
			case a == n && i+1 < len(args):
				v = args[i+1]
			case strings.HasPrefix(a, n+"="):
				v = a[len(n)+1:]
			case len(n) == 2 && strings.HasPrefix(a, n) && len(a) > 2:
				v = a[2:]
			}
		}
	}
	return v
}

// firstPositional returns the first argument that is not an option.
func firstPositional(args []string) string {
	for _, a := range args {
		if a == "--" {
			return ""
		}
		if !strings.HasPrefix(a, "-") {
			return a
		}
	}
	return ""
}

// literal returns a word's value when it has no expansions.
func literal(w *syntax.Word) (string, bool) {
	var b strings.Builder
	for _, part := range w.Parts {
		switch p := part.(type) {
		case *syntax.Lit:
			b.WriteString(unescape(p.Value, false))
		case *syntax.SglQuoted:
			if p.Dollar {
				return "", false
			}
			b.WriteString(p.Value)
		case *syntax.DblQuoted:
			for _, q := range p.Parts {
				l, ok := q.(*syntax.Lit)
				if !ok {
					return "", false
				}
				b.WriteString(unescape(l.Value, true))
			}
		default:
			return "", false
		}
	}
	return b.String(), true
}

// unescape removes the shell's backslashes from a literal as written.
func unescape(s string, quoted bool) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		next := s[i+1]
		switch {
		case next == '\n':
			i++
		case !quoted || strings.IndexByte("$`\"\\", next) >= 0:
			b.WriteByte(next)
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
