package npm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/syntax"

	"github.com/cascade-dev/cascade/internal/sandbox"
)

// InstrumentPackage rewrites package.json in dir (the extracted copy
// cascade owns, never a user's checkout) so that scripts.test is
// instrumented (see InstrumentScript), and so are the scripts it runs with
// `npm run NAME` (or run-s, run-p, npm-run-all, yarn run, pnpm run), since
// that is where many packages keep their runner. pretest and posttest are
// left alone. The rest of the file is kept byte for byte. It returns the
// runners found.
func InstrumentPackage(dir, reportDir string) ([]string, error) {
	found, err := instrumentPackage(dir, reportDir)
	return uniq(found), err
}

// instrumentPackage is InstrumentPackage returning every runner
// invocation it found, in the order of the scripts.
func instrumentPackage(dir, reportDir string) ([]string, error) {
	file := filepath.Join(dir, FileName)
	data, err := sandbox.ReadTreeFile(dir, FileName, 0)
	if err != nil {
		return nil, err
	}
	if _, err := Parse(file, data); err != nil {
		return nil, err
	}
	scripts, err := scriptValues(data)
	if err != nil {
		return nil, &ParseError{File: file, Msg: err.Error()}
	}
	if _, ok := scripts["test"]; !ok {
		return nil, nil
	}
	n := 0
	var runners []string
	edits := map[string]string{}
	seen := map[string]bool{}
	queue := []string{"test"}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		sv, ok := scripts[name]
		if !ok {
			continue
		}
		out, found := instrument(sv.value, reportDir, &n)
		if out != sv.value {
			edits[name] = out
		}
		runners = append(runners, found...)
		queue = append(queue, scriptsRun(sv.value, scripts)...)
	}
	if len(edits) == 0 {
		return runners, nil
	}
	// Splice the new values in, last first so that offsets stay valid.
	names := make([]string, 0, len(edits))
	for name := range edits {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return scripts[names[i]].start > scripts[names[j]].start })
	for _, name := range names {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false) // keep && readable
		if err := enc.Encode(edits[name]); err != nil {
			return nil, err
		}
		v := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		s := scripts[name]
		data = append(data[:s.start:s.start], append(v, data[s.end:]...)...)
	}
	if _, err := scriptValues(data); err != nil {
		return nil, fmt.Errorf("%s: rewriting the test scripts broke the file: %w", file, err)
	}
	if err := sandbox.WriteTreeFile(dir, FileName, data); err != nil {
		return nil, err
	}
	return runners, nil
}

// scriptValue is one script's value and where its JSON string lies in the
// file.
type scriptValue struct {
	value      string
	start, end int64
}

// scriptValues returns the string values of the "scripts" object of a
// package.json (the last of duplicate keys, as npm reads them).
func scriptValues(data []byte) (map[string]scriptValue, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	out := map[string]scriptValue{}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("package.json must hold a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		if tok != "scripts" {
			if err := skipValue(dec); err != nil {
				return nil, err
			}
			continue
		}
		tok, err = dec.Token()
		if err != nil {
			return nil, err
		}
		if tok != json.Delim('{') {
			if d, ok := tok.(json.Delim); ok {
				if err := skipRest(dec, d); err != nil {
					return nil, err
				}
			}
			continue
		}
		clear(out)
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return nil, err
			}
			before := dec.InputOffset()
			val, err := dec.Token()
			if err != nil {
				return nil, err
			}
			s, ok := val.(string)
			if !ok {
				if d, ok := val.(json.Delim); ok {
					if err := skipRest(dec, d); err != nil {
						return nil, err
					}
				}
				continue
			}
			end := dec.InputOffset()
			start := before + int64(bytes.IndexByte(data[before:end], '"'))
			out[key.(string)] = scriptValue{value: s, start: start, end: end}
		}
		if _, err := dec.Token(); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return out, nil
}

// scriptsRun returns the names of the package scripts a script runs with
// npm run (run-script), yarn run, pnpm run, or npm-run-all and its run-s
// and run-p (whose "test:*" patterns match script names).
func scriptsRun(script string, scripts map[string]scriptValue) []string {
	f, err := parseScript(script)
	if err != nil {
		return nil
	}
	var names []string
	syntax.Walk(f, func(node syntax.Node) bool {
		call, ok := node.(*syntax.CallExpr)
		if !ok {
			return true
		}
		var words []string
		for _, w := range call.Args {
			s, ok := literal(w)
			if !ok {
				return true
			}
			words = append(words, s)
		}
		if len(words) == 0 {
			return true
		}
		switch commandName(words[0]) {
		case "npm", "yarn", "pnpm":
			args := positionals(words[1:])
			switch {
			case len(args) >= 2 && (args[0] == "run" || args[0] == "run-script"):
				names = append(names, args[1])
			case len(args) >= 1 && commandName(words[0]) != "npm":
				// yarn NAME and pnpm NAME run the script NAME.
				if _, ok := scripts[args[0]]; ok {
					names = append(names, args[0])
				}
			}
		case "run-s", "run-p", "npm-run-all":
			for _, a := range positionals(words[1:]) {
				names = append(names, matchScripts(a, scripts)...)
			}
		}
		return true
	})
	return names
}

// positionals returns the arguments that are not options.
func positionals(args []string) []string {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			out = append(out, a)
		}
	}
	return out
}

// matchScripts returns the scripts an npm-run-all pattern names: "*"
// matches within one ":"-separated part, "**" across them. A pattern may
// carry arguments after a space ("test:unit -- --ci").
func matchScripts(pattern string, scripts map[string]scriptValue) []string {
	pattern, _, _ = strings.Cut(strings.TrimSpace(pattern), " ")
	if !strings.Contains(pattern, "*") {
		return []string{pattern}
	}
	var re strings.Builder
	re.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch {
		case strings.HasPrefix(pattern[i:], "**"):
			re.WriteString(".*")
			i++
		case pattern[i] == '*':
			re.WriteString("[^:]*")
		default:
			re.WriteString(regexp.QuoteMeta(pattern[i : i+1]))
		}
	}
	re.WriteString("$")
	m, err := regexp.Compile(re.String())
	if err != nil {
		return nil
	}
	var out []string
	for name := range scripts {
		if m.MatchString(name) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
