package npm

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cascade-dev/cascade/internal/ecosystem"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/sandbox"
)

// NPM verifies npm packages: upstreams are packed (`npm pack`) and
// installed in place of the versions a downstream's ranges select, and the
// test script is run with its runners reporting test by test.
type NPM struct {
	// Cache is npm's cache directory, shared by every command.
	Cache string
	// Work is where packed tarballs are written.
	Work string

	mu        sync.Mutex
	packs     map[string]packed
	toolchain *toolchain
}

type packed struct {
	file string
	err  error
}

type toolchain struct {
	version string
	err     error
}

var _ ecosystem.Ecosystem = (*NPM)(nil)

// Name is "npm".
func (*NPM) Name() string { return "npm" }

// Toolchain is the versions of node and npm.
func (n *NPM) Toolchain(ctx context.Context) (string, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.toolchain == nil {
		var parts []string
		var err error
		for _, tool := range []string{"node", "npm"} {
			res, rerr := sandbox.Run(ctx, sandbox.Cmd{Args: []string{tool, "--version"}, Env: Env(n.Cache)})
			if rerr != nil {
				return "", rerr
			}
			if !res.OK() {
				err = errkind.New(errkind.Infra, "cannot run `%s --version`; is Node.js with npm installed and on PATH? %s", tool, strings.TrimSpace(res.Output))
				break
			}
			parts = append(parts, tool+" "+strings.TrimSpace(res.Output))
		}
		n.toolchain = &toolchain{strings.Join(parts, ", "), err}
	}
	return n.toolchain.version, n.toolchain.err
}

// Pins is false: package.json holds ranges.
func (*NPM) Pins() bool { return false }

// Release returns the highest tag whose version satisfies the range.
func (*NPM) Release(m ecosystem.Module, required string, tags []string) string {
	if t := BestVersion(required, tags); t != "" {
		return "refs/tags/" + t
	}
	return ""
}

// Changes reports the whole package changed when any file of it changed:
// npm packages are not narrowed further.
func (*NPM) Changes(m ecosystem.Module, nested, files []string, base, cand fs.FS) (map[string]bool, bool, string) {
	prefix := ""
	if m.Dir != "." && m.Dir != "" {
		prefix = m.Dir + "/"
	}
outer:
	for _, f := range files {
		if !strings.HasPrefix(f, prefix) {
			continue
		}
		for _, n := range nested {
			if n != m.Dir && n != "." && strings.HasPrefix(f, n+"/") && strings.HasPrefix(n+"/", prefix) {
				continue outer
			}
		}
		return nil, true, "npm packages are verified whole"
	}
	return map[string]bool{}, false, ""
}

// Select selects the whole package.
func (*NPM) Select(context.Context, ecosystem.Runner, string, ecosystem.Module, map[string]bool) (ecosystem.Selection, error) {
	return ecosystem.Selection{All: true}, nil
}

// Prepare packs the upstreams and returns the steps: install them in
// place (`npm install --no-save`), build (`npm run build --if-present`, or
// the repo's build command), then test (`npm test`, or the repo's test
// command; a package without a test script has only its build checked).
func (n *NPM) Prepare(ctx context.Context, run ecosystem.Runner, root, dir string, u ecosystem.Unit, cfg ecosystem.Config, ups []ecosystem.Upstream) ([]ecosystem.Step, error) {
	var tarballs []string
	for _, up := range ups {
		file, err := n.pack(ctx, run, up.Tree)
		if err != nil {
			return nil, err
		}
		tarballs = append(tarballs, file)
	}
	env := Env(n.Cache)
	reports := filepath.Join(root, ".cascade-reports", strings.ReplaceAll(path.Clean(u.Dir), "/", "_"))
	if err := os.MkdirAll(reports, 0o755); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	test := sandbox.Cmd{Args: []string{"npm", "test"}, Dir: dir, Env: env}
	if cfg.Test != "" {
		test = sandbox.Cmd{Shell: cfg.Test, Dir: dir, Env: env}
	}
	build := sandbox.Cmd{Args: []string{"npm", "run", "build", "--if-present"}, Dir: dir, Env: env}
	if cfg.Build != "" {
		build = sandbox.Cmd{Shell: cfg.Build, Dir: dir, Env: env}
	}
	report := ""
	if cfg.TestReport != "" {
		report = filepath.Join(root, filepath.FromSlash(cfg.TestReport))
	}
	hasTests := cfg.Test != "" || HasScript(filepath.Join(dir, FileName), "test")
	return []ecosystem.Step{
		{Stage: ecosystem.Install, Cmd: sandbox.Cmd{Args: append([]string{"npm", "install", "--no-save", "--no-package-lock"}, tarballs...), Dir: dir, Env: env}},
		{Stage: ecosystem.Build, Cmd: build},
		{Stage: ecosystem.Test, Cmd: test, Skip: func() bool { return !hasTests },
			Results: func() ecosystem.Parser { return newResults(dir, reports, report) }},
	}, nil
}

// pack runs `npm pack` in dir once per verification.
func (n *NPM) pack(ctx context.Context, run ecosystem.Runner, dir string) (string, error) {
	n.mu.Lock()
	if p, ok := n.packs[dir]; ok {
		n.mu.Unlock()
		return p.file, p.err
	}
	n.mu.Unlock()
	dest, err := os.MkdirTemp(n.Work, "pack-")
	if err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	res, err := run(ctx, sandbox.Cmd{Args: []string{"npm", "pack", "--pack-destination", dest}, Dir: dir, Env: Env(n.Cache)})
	if err != nil {
		return "", err
	}
	var file string
	switch m, _ := filepath.Glob(filepath.Join(dest, "*.tgz")); {
	case !res.OK():
		err = errkind.New(errkind.Infra, "`npm pack` in %s failed: %s", dir, lastLines(res.Output, 20))
	case len(m) == 1:
		file = m[0]
	default:
		err = errkind.New(errkind.Infra, "`npm pack` in %s made no tarball", dir)
	}
	n.mu.Lock()
	if n.packs == nil {
		n.packs = map[string]packed{}
	}
	n.packs[dir] = packed{file, err}
	n.mu.Unlock()
	return file, err
}

func lastLines(s string, k int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > k {
		lines = lines[len(lines)-k:]
	}
	return strings.Join(lines, "\n")
}

// results adapts the test output's parser to the ecosystem's Results.
type results struct {
	dir, report string
	tap         *tapStream
}

func newResults(dir, reports, report string) *results {
	return &results{dir: dir, report: report, tap: newTAPStream(dir)}
}

func (r *results) Write(p []byte) (int, error) { return r.tap.Write(p) }

func (r *results) Finish() ecosystem.Results {
	res := r.tap.finish()
	if r.report != "" {
		if _, err := os.Stat(r.report); err != nil {
			res.Log += fmt.Sprintf("\n[cascade: the test report %s named in .cascade.yaml was not written]\n", r.report)
		}
	}
	return res
}
