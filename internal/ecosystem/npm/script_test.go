package npm

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"
)

func TestInstrumentScript(t *testing.T) {
	const dir = "/tmp/rep"
	tests := []struct {
		script  string
		want    string
		runners []string
	}{
		// node's own runner: TAP on stdout, flags before the files.
		{"node --test test/", "node --test-reporter=tap --test test/", []string{"node --test"}},
		{"node --import tsx --test 'test/**/*.ts'", "node --test-reporter=tap --import tsx --test 'test/**/*.ts'", []string{"node --test"}},
		{"c8 node --test", "c8 node --test-reporter=tap --test", []string{"node --test"}},
		{"node --test --test-reporter=tap", "node --test --test-reporter=tap", []string{"node --test"}},
		// The user's reporter stays on stdout; TAP goes to a file.
		{"node --test --test-reporter=spec", "node --test-reporter=tap --test-reporter-destination=/tmp/rep/1-node-test.tap --test-reporter-destination=stdout --test --test-reporter=spec", []string{"node --test"}},
		{"node --test --test-reporter spec --test-reporter-destination out.txt", "node --test-reporter=tap --test-reporter-destination=/tmp/rep/1-node-test.tap --test --test-reporter spec --test-reporter-destination out.txt", []string{"node --test"}},
		{"node test.js --test", "node test.js --test", nil},
		{"node -e 'x' --test", "node -e 'x' --test", nil},
		// ava
		{"xo && ava && tsd", "xo && ava --tap && tsd", []string{"ava"}},
		{"c8 ava", "c8 ava --tap", []string{"ava"}},
		{"c8 --reporter=lcov -r text ava --verbose", "c8 --reporter=lcov -r text ava --tap --verbose", []string{"ava"}},
		{"ava --tap", "ava --tap", []string{"ava"}},
		// jest: JSON into the report directory.
		{"jest", "jest --json --outputFile=/tmp/rep/1-jest.json", []string{"jest"}},
		{"npx jest", "npx jest --json --outputFile=/tmp/rep/1-jest.json", []string{"jest"}},
		{"jest --ci --coverage", "jest --json --outputFile=/tmp/rep/1-jest.json --ci --coverage", []string{"jest"}},
		{"cross-env NODE_ENV=test jest", "cross-env NODE_ENV=test jest --json --outputFile=/tmp/rep/1-jest.json", []string{"jest"}},
		{"jest --json", "jest --outputFile=/tmp/rep/1-jest.json --json", []string{"jest"}},
		{"jest --json --outputFile=out.json", "jest --json --outputFile=out.json", nil},
		{"node --experimental-vm-modules node_modules/jest/bin/jest.js", "node --experimental-vm-modules node_modules/jest/bin/jest.js --json --outputFile=/tmp/rep/1-jest.json", []string{"jest"}},
		{"NODE_OPTIONS=--experimental-vm-modules npx jest -- foo", "NODE_OPTIONS=--experimental-vm-modules npx jest --json --outputFile=/tmp/rep/1-jest.json -- foo", []string{"jest"}},
		{"npm exec -- jest", "npm exec -- jest --json --outputFile=/tmp/rep/1-jest.json", []string{"jest"}},
		{"./node_modules/.bin/jest", "./node_modules/.bin/jest --json --outputFile=/tmp/rep/1-jest.json", []string{"jest"}},
		{"./scripts/jest", "./scripts/jest", nil},
		{"exec jest --output-file=x.json --json", "exec jest --output-file=x.json --json", nil},
		{"command jest", "command jest --json --outputFile=/tmp/rep/1-jest.json", []string{"jest"}},
		// vitest: JSON into the report directory, keeping run and the
		// human-readable output.
		{"vitest run", "vitest --reporter=default --reporter=json --outputFile.json=/tmp/rep/1-vitest.json run", []string{"vitest"}},
		{"npm run lint && vitest run", "npm run lint && vitest --reporter=default --reporter=json --outputFile.json=/tmp/rep/1-vitest.json run", []string{"vitest"}},
		{"vitest run --reporter=dot", "vitest --reporter=json --outputFile.json=/tmp/rep/1-vitest.json run --reporter=dot", []string{"vitest"}},
		{"vitest run --reporter=junit --outputFile=junit.xml", "vitest run --reporter=junit --outputFile=junit.xml", nil},
		{"vitest bench", "vitest bench", nil},
		{"pnpm vitest", "pnpm vitest --reporter=default --reporter=json --outputFile.json=/tmp/rep/1-vitest.json", []string{"vitest"}},
		// mocha: TAP on stdout, after the user's own reporter so that ours wins.
		{"NODE_ENV=test mocha 'test/**/*.js'", "NODE_ENV=test mocha 'test/**/*.js' --reporter=tap --reporter-option=tapVersion=13", []string{"mocha"}},
		{"nyc mocha", "nyc mocha --reporter=tap --reporter-option=tapVersion=13", []string{"mocha"}},
		{"nyc --reporter=lcov mocha -R spec", "nyc --reporter=lcov mocha -R spec --reporter=tap --reporter-option=tapVersion=13", []string{"mocha"}},
		{"mocha -R tap", "mocha -R tap", []string{"mocha"}},
		{"mocha --reporter json --reporter-option output=mocha.json", "mocha --reporter json --reporter-option output=mocha.json", nil},
		{"mocha --require x -- a.js", "mocha --require x --reporter=tap --reporter-option=tapVersion=13 -- a.js", []string{"mocha"}},
		// node-tap
		{"tap", "tap --reporter=tap", []string{"tap"}},
		{"tap test/*.js > /dev/null", "tap test/*.js --reporter=tap > /dev/null", []string{"tap"}},
		{"tap report", "tap report", nil},
		{"tap -Rtap", "tap -Rtap", []string{"tap"}},
		{"tap --reporter=junit --reporter-file=junit.xml", "tap --reporter=junit --reporter-file=junit.xml", nil},
		// Two runners, two files.
		{"jest a && jest b; vitest run", "jest --json --outputFile=/tmp/rep/1-jest.json a && jest --json --outputFile=/tmp/rep/2-jest.json b; vitest --reporter=default --reporter=json --outputFile.json=/tmp/rep/3-vitest.json run", []string{"jest", "vitest"}},
		{"if [ -n \"$CI\" ]; then\n  jest --ci\nelse\n  jest\nfi", "if [ -n \"$CI\" ]; then\n  jest --json --outputFile=/tmp/rep/1-jest.json --ci\nelse\n  jest --json --outputFile=/tmp/rep/2-jest.json\nfi", []string{"jest"}},
		// Not runners, or not ours to change.
		{"echo jest", "echo jest", nil},
		{"npm run test:unit", "npm run test:unit", nil},
		{"npx eslint jest", "npx eslint jest", nil},
		{"out=$(jest --listTests)", "out=$(jest --listTests)", nil},
		{"$RUNNER test", "$RUNNER test", nil},
		{"jest 'unterminated", "jest 'unterminated", nil},
		{"tsd", "tsd", nil},
	}
	for _, tt := range tests {
		got, runners := InstrumentScript(tt.script, dir)
		if got != tt.want {
			t.Errorf("InstrumentScript(%q)\n got %q\nwant %q", tt.script, got, tt.want)
		}
		if diff := cmp.Diff(tt.runners, runners); diff != "" {
			t.Errorf("InstrumentScript(%q) runners mismatch (-want +got):\n%s", tt.script, diff)
		}
	}
}

func TestInstrumentScriptQuotesReportDir(t *testing.T) {
	dir := "/tmp/it's $(rm -rf ~) `x` \\ \"dir\""
	got, runners := InstrumentScript("jest", dir)
	f, err := syntax.NewParser().Parse(strings.NewReader(got), "")
	if err != nil {
		t.Fatalf("%q: %v", got, err)
	}
	args, err := expand.Fields(nil, f.Stmts[0].Cmd.(*syntax.CallExpr).Args...)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"jest", "--json", "--outputFile=" + dir + "/1-jest.json"}
	if diff := cmp.Diff(want, args); diff != "" || len(runners) != 1 {
		t.Errorf("%q: the shell sees (-want +got):\n%s", got, diff)
	}
	// A relative report directory would land in the package: refused.
	if got, runners := InstrumentScript("jest", "rep"); got != "jest" || runners != nil {
		t.Errorf("relative reportDir: got %q %v", got, runners)
	}
}

// FuzzInstrumentScript checks that whatever the script, the result parses,
// and each command keeps its words in order, with only cascade's own
// reporter arguments added.
func FuzzInstrumentScript(f *testing.F) {
	for _, s := range []string{
		"xo && ava && tsd", "c8 node --test", "cross-env NODE_ENV=test jest --ci", "npm run lint && vitest run",
		"nyc --reporter=lcov mocha -R spec -- a.js", "if true; then tap; fi | tee log", "f() { jest \"$@\"; }; f x",
		"NODE_ENV=test mocha 'test/**/*.js' > out 2>&1", "jest `echo x`", "node --test --test-reporter spec",
	} {
		f.Add(s)
	}
	added := []string{"--tap", "--json", "--outputFile=/r/", "--reporter=", "--reporter-option=tapVersion=13",
		"--outputFile.json=/r/", "--test-reporter=tap", "--test-reporter-destination="}
	f.Fuzz(func(t *testing.T, script string) {
		out, runners := InstrumentScript(script, "/r")
		if len(runners) == 0 {
			if out != script {
				t.Fatalf("no runner, yet %q became %q", script, out)
			}
			return
		}
		in, err := parseScript(script)
		if err != nil {
			t.Fatalf("instrumented a script that does not parse: %q", script)
		}
		got, err := parseScript(out)
		if err != nil {
			t.Fatalf("%q became %q, which does not parse: %v", script, out, err)
		}
		before, after := callWords(in), callWords(got)
		if len(before) != len(after) {
			t.Fatalf("%q became %q: %d commands, then %d", script, out, len(before), len(after))
		}
		for i := range before {
			j := 0
			for _, w := range after[i] {
				if j < len(before[i]) && w == before[i][j] {
					j++
					continue
				}
				ok := false
				for _, a := range added {
					ok = ok || strings.HasPrefix(w, a)
				}
				if !ok {
					t.Fatalf("%q became %q: %q added", script, out, w)
				}
			}
			if j != len(before[i]) {
				t.Fatalf("%q became %q: words of %v lost", script, out, before[i])
			}
		}
	})
}

// callWords returns each simple command's words, as the shell would see
// them when literal (else as written).
func callWords(f *syntax.File) [][]string {
	var out [][]string
	printer := syntax.NewPrinter()
	syntax.Walk(f, func(node syntax.Node) bool {
		if call, ok := node.(*syntax.CallExpr); ok {
			var words []string
			for _, w := range call.Args {
				s, ok := literal(w)
				if !ok {
					var b strings.Builder
					printer.Print(&b, w)
					s = b.String()
				}
				words = append(words, s)
			}
			out = append(out, words)
		}
		return true
	})
	return out
}
