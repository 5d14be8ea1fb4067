package npm

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// -capture runs the real test runners (installed from the npm registry)
// on small packages and rewrites testdata/runners with what they printed
// and wrote. The parser tests read those files; plain `go test` never
// needs the registry.
var capture = flag.Bool("capture", false, "run the real npm test runners and rewrite testdata/runners")

// captureRoot stands for the temporary directory the packages ran in.
const captureRoot = "/tmp/TestCaptureRunners2718281828/001"

// runnerVersions are the runners the testdata comes from.
var runnerVersions = []string{"ava@7.0.0", "jest@30.5.2", "vitest@4.1.12", "mocha@12.0.3", "tap@21.8.0", "c8@12.0.0", "cross-env@10.1.0"}

// Each package has a passing, a failing, a skipped and a todo test, nested
// tests, and a test file that throws when it is loaded.
var (
	nodeTests = map[string]string{
		"test/math.test.js": `const test = require('node:test');
const assert = require('node:assert');
test('passes', () => { assert.strictEqual(1 + 1, 2); });
test('fails', () => { assert.strictEqual(1 + 1, 3); });
test('skipped', { skip: true }, () => {});
test('todo', { todo: true }, () => {});
test('todo failing', { todo: 'not yet' }, () => { throw new Error('todo fails'); });
test.describe('group', () => {
  test.it('inner passes', () => {});
  test.it('inner fails', () => { throw new Error('boom'); });
  test.describe('deeper', () => {
    test.it('deep fails', () => { assert.ok(false); });
  });
});
`,
		"test/throws.test.js": "throw new Error('cannot load');\n",
	}
	jestTests = map[string]string{
		"test/math.test.js": `test('passes', () => { expect(1 + 1).toBe(2); });
test('fails', () => { expect(1 + 1).toBe(3); });
test.skip('skipped', () => {});
test.todo('todo');
describe('group', () => {
  test('inner passes', () => {});
  test('inner fails', () => { throw new Error('boom'); });
  describe('deeper', () => {
    test('deep fails', () => { expect(false).toBe(true); });
  });
});
`,
		"test/throws.test.js": "throw new Error('cannot load');\n",
	}
	vitestTests = map[string]string{
		"test/math.test.js":   "import { test, describe, expect } from 'vitest';\n" + jestTests["test/math.test.js"],
		"test/throws.test.js": "throw new Error('cannot load');\n",
	}
	mochaMath = `const assert = require('assert');
it('passes', () => { assert.strictEqual(1 + 1, 2); });
it('fails', () => { assert.strictEqual(1 + 1, 3); });
it.skip('skipped', () => {});
it('todo');
describe('group', () => {
  it('inner passes', () => {});
  it('inner fails', () => { throw new Error('boom'); });
  describe('deeper', () => {
    it('deep fails', () => { assert.ok(false); });
  });
});
`
	mochaTests     = map[string]string{"test/math.test.js": mochaMath}
	mochaLoadTests = map[string]string{"test/math.test.js": mochaMath, "test/throws.test.js": "throw new Error('cannot load');\n"}
	avaTests       = map[string]string{
		"test/math.js": `const test = require('ava');
test('passes', t => { t.is(1 + 1, 2); });
test('fails', t => { t.is(1 + 1, 3); });
test.skip('skipped', t => { t.pass(); });
test.todo('todo');
test('group › inner fails', t => { t.fail('boom'); });
`,
		"test/throws.js": "throw new Error('cannot load');\n",
	}
	tapTests = map[string]string{
		"test/math.js": `const t = require('tap');
t.test('passes', async t => { t.equal(1 + 1, 2); });
t.test('fails', async t => { t.equal(1 + 1, 3); });
t.test('skipped', { skip: true }, async t => {});
t.test('todo', { todo: true }, async t => {});
t.test('group', async t => {
  t.test('inner passes', async t => { t.pass(); });
  t.test('inner fails', async t => { t.fail('boom'); });
  t.test('deeper', async t => { t.test('deep fails', async t => { t.ok(false); }); });
});
`,
		"test/throws.js": "throw new Error('cannot load');\n",
	}
)

// captureCases are the packages run for the testdata: the name of the
// testdata directory, package.json scripts, and test files.
var captureCases = []struct {
	name    string
	module  bool
	scripts map[string]string
	files   map[string]string
}{
	{"node", false, map[string]string{"test": "node --test test/"}, nodeTests},
	{"ava", false, map[string]string{"test": "node -e 0 && ava && node -e 0"}, avaTests},
	{"jest", false, map[string]string{"test": "cross-env NODE_ENV=test jest --ci"}, jestTests},
	{"vitest", true, map[string]string{"test": "npm run lint && vitest run", "lint": "node -e 0"}, vitestTests},
	{"mocha", false, map[string]string{"test": "c8 --reporter=text mocha"}, mochaTests},
	{"mocha-load", false, map[string]string{"test": "NODE_ENV=test mocha 'test/**/*.js'"}, mochaLoadTests},
	{"tap", false, map[string]string{"test": "tap"}, tapTests},
	{"jest-run", false, map[string]string{"test": "npm run test:unit", "test:unit": "jest"}, jestTests},
	// Reports the repo writes itself, for ReadReport.
	{"vitest-junit", true, map[string]string{"test": "vitest run --reporter=junit --outputFile=junit.xml"}, vitestTests},
	{"node-junit", false, map[string]string{"test": "node --test --test-reporter=junit --test-reporter-destination=junit.xml test/"}, nodeTests},
	{"mocha-json", false, map[string]string{"test": "mocha --reporter json --reporter-option output=mocha.json"}, mochaTests},
}

func TestCaptureRunners(t *testing.T) {
	if !*capture {
		t.Skip("run with -capture to rerun the real test runners (needs npm and its registry)")
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	tools := filepath.Join(tmp, "tools")
	mustWrite(t, filepath.Join(tools, "package.json"), `{"name":"tools","version":"1.0.0","private":true}`)
	install := exec.Command("npm", append([]string{"install", "--no-audit", "--no-fund", "--save-exact"}, runnerVersions...)...)
	install.Dir = tools
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("npm install: %v\n%s", err, out)
	}
	for _, c := range captureCases {
		dir := filepath.Join(tmp, c.name)
		report := filepath.Join(tmp, c.name+"-report")
		if err := os.MkdirAll(report, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, body := range c.files {
			mustWrite(t, filepath.Join(dir, name), body)
		}
		var scripts []string
		for name, s := range c.scripts {
			scripts = append(scripts, quoteJSON(name)+": "+quoteJSON(s))
		}
		typ := ""
		if c.module {
			typ = `"type": "module", `
		}
		mustWrite(t, filepath.Join(dir, "package.json"), `{"name": "`+c.name+`", "version": "1.0.0", `+typ+`"scripts": {`+strings.Join(scripts, ", ")+"}}\n")
		if err := os.Symlink(filepath.Join(tools, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
			t.Fatal(err)
		}
		runners, err := InstrumentPackage(dir, report)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: runners %v", c.name, runners)
		cmd := exec.Command("npm", "test")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "NO_COLOR=1", "CI=true", "npm_config_update_notifier=false")
		out, _ := cmd.CombinedOutput()
		dest := filepath.Join("testdata", "runners", c.name)
		if err := os.RemoveAll(dest); err != nil {
			t.Fatal(err)
		}
		norm := func(b []byte) string {
			s := strings.ReplaceAll(string(b), filepath.Join(tools, "node_modules"), filepath.Join(dir, "node_modules"))
			return strings.ReplaceAll(s, tmp, captureRoot)
		}
		mustWrite(t, filepath.Join(dest, "output.txt"), norm(out))
		pj, err := os.ReadFile(filepath.Join(dir, "package.json"))
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(dest, "package.json"), norm(pj))
		entries, _ := os.ReadDir(report)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(report, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			mustWrite(t, filepath.Join(dest, "report", e.Name()), norm(b))
		}
		for _, own := range []string{"junit.xml", "mocha.json"} {
			if b, err := os.ReadFile(filepath.Join(dir, own)); err == nil {
				mustWrite(t, filepath.Join(dest, own), norm(b))
			}
		}
	}
}

func mustWrite(t *testing.T, file, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func quoteJSON(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
