package npm

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestInstrumentPackage(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		runners []string
	}{
		{"only the test scripts change, byte for byte",
			`{
  "name": "p",
  "scripts": {
    "pretest": "jest --clearCache",
    "test": "xo && ava && tsd",
    "posttest": "jest --version",
    "build": "tsc"
  },
  "description": "caf\u00e9 & co",
  "big": 12345678901234567890
}
`,
			`{
  "name": "p",
  "scripts": {
    "pretest": "jest --clearCache",
    "test": "xo && ava --tap && tsd",
    "posttest": "jest --version",
    "build": "tsc"
  },
  "description": "caf\u00e9 & co",
  "big": 12345678901234567890
}
`, []string{Ava}},
		{"scripts that test runs with npm run, numbered apart",
			`{"scripts": {"test": "npm run lint && npm run test:unit && npm run test:e2e", "lint": "eslint .", "test:unit": "jest", "test:e2e": "jest -c e2e.config.js", "unused": "jest"}}`,
			`{"scripts": {"test": "npm run lint && npm run test:unit && npm run test:e2e", "lint": "eslint .", "test:unit": "jest --json --outputFile=/rep/1-jest.json", "test:e2e": "jest --json --outputFile=/rep/2-jest.json -c e2e.config.js", "unused": "jest"}}`,
			[]string{Jest}},
		{"run-s patterns",
			`{"scripts": {"test": "run-s test:*", "test:node": "node --test", "test:browser": "vitest run", "test:x:deep": "mocha"}}`,
			`{"scripts": {"test": "run-s test:*", "test:node": "node --test-reporter=tap --test", "test:browser": "vitest --reporter=default --reporter=json --outputFile.json=/rep/1-vitest.json run", "test:x:deep": "mocha"}}`,
			[]string{Vitest, NodeTest}},
		{"a cycle of scripts ends",
			`{"scripts": {"test": "npm run a", "a": "npm run test && tap"}}`,
			`{"scripts": {"test": "npm run a", "a": "npm run test && tap --reporter=tap"}}`,
			[]string{Tap}},
		{"no test script", `{"name": "p", "scripts": {"build": "jest"}}`, `{"name": "p", "scripts": {"build": "jest"}}`, nil},
		{"a test script without a runner", `{"scripts": {"test": "echo \"Error: no test specified\" && exit 1"}}`,
			`{"scripts": {"test": "echo \"Error: no test specified\" && exit 1"}}`, nil},
		{"escapes in the value", `{"scripts": {"test": "jest \"te\\\\st\""}}`,
			`{"scripts": {"test": "jest --json --outputFile=/rep/1-jest.json \"te\\\\st\""}}`, []string{Jest}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, FileName)
			mustWrite(t, file, tt.in)
			runners, err := InstrumentPackage(dir, "/rep")
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("package.json mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.runners, runners); diff != "" {
				t.Errorf("runners mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestInstrumentPackageErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := InstrumentPackage(dir, "/rep"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no package.json: got %v", err)
	}
	mustWrite(t, filepath.Join(dir, FileName), `{"scripts": {"test": "jest",}}`)
	_, err := InstrumentPackage(dir, "/rep")
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != filepath.Join(dir, FileName) {
		t.Errorf("invalid JSON: got %v, want a ParseError naming the file", err)
	}
	// A key given twice (npm reads the last, other readers the first) is
	// refused, naming both, and the file is left as it was.
	in := `{"scripts": {"test": "mocha", "test": "jest"}}`
	mustWrite(t, filepath.Join(dir, FileName), in)
	_, err = InstrumentPackage(dir, "/rep")
	if !errors.As(err, &pe) || pe.Line != 1 || pe.Col != 31 || !strings.Contains(pe.Msg, `duplicate key "test" (first at `+filepath.Join(dir, FileName)+`:1:14)`) {
		t.Errorf("duplicate key: got %v, want a ParseError naming both", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, FileName)); string(got) != in {
		t.Errorf("package.json was changed: %s", got)
	}
}
