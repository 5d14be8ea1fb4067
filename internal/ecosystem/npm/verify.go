package npm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
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
	packs     map[string]*packed
	toolchain *toolchain
}

type packed struct {
	once sync.Once
	file string
	err  error
}

type toolchain struct {
	version string
	err     error
}

var _ ecosystem.Ecosystem = (*NPM)(nil)

// Close has nothing to release.
func (*NPM) Close() error { return nil }

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

// Release returns the highest release tag of package m whose version
// satisfies the range. A package's release tags are "v1.2.0" (or "1.2.0")
// for a package at the repo's root, "dir/v1.2.0" for one in dir, and
// "name@1.2.0" for either.
func (*NPM) Release(m ecosystem.Module, required string, tags []string) string {
	byVersion := map[string]string{}
	var versions []string
	for _, t := range tags {
		v, ok := strings.CutPrefix(t, m.Name+"@")
		if !ok && m.Dir != "." && m.Dir != "" {
			v, ok = strings.CutPrefix(t, m.Dir+"/")
		}
		if !ok && (m.Dir == "." || m.Dir == "") && !strings.ContainsAny(t, "/@") {
			v, ok = t, true
		}
		if ok {
			byVersion[v] = t
			versions = append(versions, v)
		}
	}
	if v := BestVersion(required, versions); v != "" {
		return "refs/tags/" + byVersion[v]
	}
	return ""
}

// Changes reports the whole package changed when any file of its repo
// changed: a package is not narrowed further, and what it ships can come
// from anywhere in the repo (a prepack script that copies ../shared).
func (*NPM) Changes(m ecosystem.Module, nested, files []string, base, cand fs.FS) (map[string]bool, bool, string) {
	if len(files) > 0 {
		return nil, true, "npm packages are verified whole"
	}
	return map[string]bool{}, false, ""
}

// Select selects the whole package.
func (*NPM) Select(context.Context, ecosystem.Runner, string, ecosystem.Module, map[string]bool) (ecosystem.Selection, error) {
	return ecosystem.Selection{All: true}, nil
}

// Prepare packs the upstreams and returns the steps: install them in
// place (`npm install --no-save --ignore-scripts`, then their install
// scripts offline: `npm rebuild`), build (`npm run build --if-present`, or
// the repo's build command), then test (`npm test`, or the repo's test
// command; a package without a test script has only its build checked).
func (n *NPM) Prepare(ctx context.Context, run ecosystem.Runner, root, dir string, u ecosystem.Unit, cfg ecosystem.Config, ups []ecosystem.Upstream) ([]ecosystem.Step, error) {
	var tarballs []string
	for _, up := range ups {
		file, err := n.pack(ctx, run, up.Root, up.Tree)
		if err != nil {
			return nil, err
		}
		tarballs = append(tarballs, file)
	}
	env := Env(n.Cache)
	// The runners the test script uses report each test, into a directory
	// of cascade's own, emptied for every run.
	sum := sha256.Sum256([]byte(dir))
	reports := filepath.Join(n.Work, "reports", hex.EncodeToString(sum[:8]))
	sandbox.RemoveAll(reports)
	if err := os.MkdirAll(reports, 0o755); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	test := sandbox.Cmd{Args: []string{"npm", "test"}, Dir: dir, Env: env}
	var runners []string
	if cfg.Test != "" {
		var script string
		n := 0
		script, runners = instrument(cfg.Test, reports, &n)
		test = sandbox.Cmd{Shell: script, Dir: dir, Env: env}
	} else {
		var err error
		if runners, err = instrumentPackage(dir, reports); err != nil {
			return nil, errkind.New(errkind.Invalid, "%s: %v (fix the file)", cfg.Label, err)
		}
	}
	build := sandbox.Cmd{Args: []string{"npm", "run", "build", "--if-present"}, Dir: dir, Env: env}
	if cfg.Build != "" {
		build = sandbox.Cmd{Shell: cfg.Build, Dir: dir, Env: env}
	}
	report := ""
	if cfg.TestReport != "" {
		report = filepath.Join(root, filepath.FromSlash(cfg.TestReport))
		_ = os.Remove(report)
	}
	hasTests := cfg.Test != "" || HasScript(filepath.Join(dir, FileName), "test")
	// The install phase has the network and fills npm's cache, running
	// no package's scripts; the install scripts (the packages' and their
	// dependencies', `npm rebuild`), the build and test phases are
	// offline, the cache behind an overlay, and write only their tree and
	// reports.
	install := sandbox.Cmd{Args: append([]string{"npm", "install", "--no-save", "--ignore-scripts"}, tarballs...), Dir: dir, Env: InstallEnv(n.Cache),
		Network: true, Writable: []string{root, n.Cache}, Shared: []string{n.Cache}, ReadOnly: []string{n.Work}}
	scripts := sandbox.Cmd{Args: []string{"npm", "rebuild"}, Dir: dir, Env: env}
	for _, c := range []*sandbox.Cmd{&scripts, &build, &test} {
		c.Writable, c.Overlay, c.ReadOnly = []string{root, reports}, []string{n.Cache}, []string{n.Work}
	}
	return []ecosystem.Step{
		{Stage: ecosystem.Install, Cmd: install},
		{Stage: ecosystem.Install, Cmd: scripts},
		{Stage: ecosystem.Build, Cmd: build},
		{Stage: ecosystem.Test, Cmd: test, Skip: func() bool { return !hasTests },
			Results: func() ecosystem.Parser { return newResults(dir, reports, root, cfg.TestReport, runners) }},
	}, nil
}

// pack runs `npm pack` on the package in dir (inside the repo tree root)
// once per verification, in a private copy of the whole tree: its prepack
// and prepare scripts may read anywhere in the repo (../shared), and write
// where no other job reads.
func (n *NPM) pack(ctx context.Context, run ecosystem.Runner, root, dir string) (string, error) {
	if root == "" {
		root = dir
	}
	n.mu.Lock()
	if n.packs == nil {
		n.packs = map[string]*packed{}
	}
	p, ok := n.packs[dir]
	if !ok {
		p = &packed{}
		n.packs[dir] = p
	}
	n.mu.Unlock()
	p.once.Do(func() { p.file, p.err = n.packOnce(ctx, run, root, dir) })
	return p.file, p.err
}

func (n *NPM) packOnce(ctx context.Context, run ecosystem.Runner, root, dir string) (string, error) {
	rel, err := filepath.Rel(root, dir)
	if err != nil || !filepath.IsLocal(rel) && rel != "." {
		return "", errkind.New(errkind.Infra, "package %s is not inside its tree %s", dir, root)
	}
	work, err := os.MkdirTemp(n.Work, "pack-")
	if err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	src := filepath.Join(work, "src")
	if err := sandbox.CopyTree(root, src); err != nil {
		return "", errkind.Wrap(errkind.Infra, fmt.Errorf("copying %s: %w", root, err))
	}
	dest := filepath.Join(work, "out")
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	res, err := run(ctx, sandbox.Cmd{Args: []string{"npm", "pack", "--pack-destination", dest}, Dir: filepath.Join(src, rel), Env: Env(n.Cache),
		Writable: []string{work}, Overlay: []string{n.Cache}})
	if err != nil {
		return "", err
	}
	switch m, _ := filepath.Glob(filepath.Join(dest, "*.tgz")); {
	case !res.OK():
		return "", errkind.New(errkind.Infra, "`npm pack` in %s failed: %s", dir, lastLines(res.Output, 20))
	case len(m) == 1:
		return m[0], nil
	}
	return "", errkind.New(errkind.Infra, "`npm pack` in %s made no tarball", dir)
}

func lastLines(s string, k int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > k {
		lines = lines[len(lines)-k:]
	}
	return strings.Join(lines, "\n")
}

// results reads a test command's output for the ecosystem's Results:
// the runners' reports through a Collector, the report file the repo
// names, the tail of the output for people and its signature.
type results struct {
	dir string
	// reportTree and report name the report file the repo names: report,
	// a slash path inside reportTree ("" for none).
	reportTree, report string
	runners            []string
	c                  *Collector
	lines              *ecosystem.Lines
	norm               *ecosystem.Normalizer
	tail               []byte
}

func newResults(dir, reports, reportTree, report string, runners []string) *results {
	r := &results{dir: dir, reportTree: reportTree, report: report, runners: runners, c: NewCollector(dir, reports), norm: ecosystem.NewNormalizer(dir)}
	r.lines = ecosystem.NewLines(maxLine, func(b []byte, _ bool) { r.norm.Line(string(b)) })
	return r
}

func (r *results) Write(p []byte) (int, error) {
	r.tail = append(r.tail, p...)
	if len(r.tail) > 2*maxLog {
		r.tail = append(r.tail[:0], r.tail[len(r.tail)-maxLog:]...)
	}
	r.lines.Write(p)
	return r.c.Write(p)
}

func (r *results) Finish() ecosystem.Results {
	r.lines.Flush()
	res, err := r.c.Finish()
	log := r.tail
	if len(log) > maxLog {
		log = log[len(log)-maxLog:]
		if i := bytes.IndexByte(log, '\n'); i >= 0 {
			log = log[i+1:]
		}
		log = append([]byte("...\n"), log...)
	}
	out := ecosystem.Results{Failed: res.Failed, Named: res.Named,
		Log: ecosystem.Rel(strings.ToValidUTF8(string(log), "?"), r.dir), Signature: r.norm.Sum()}
	if r.report != "" {
		switch rep, rerr := ReadReportIn(r.reportTree, filepath.FromSlash(r.report), r.dir); {
		case rerr != nil:
			err = errors.Join(err, rerr)
		default:
			out.Named = out.Named || rep.Named
			out.Failed = append(out.Failed, rep.Failed...)
		}
	}
	if err != nil {
		// A report that cannot be read leaves the run's tests unknown.
		out.Named = false
		out.Log += fmt.Sprintf("\n[cascade: %v]\n", err)
	}
	reported := r.c.Reports()
	out.Reports = reported
	switch {
	case len(r.runners) == 0:
		out.Stopped = "cascade found no test runner it knows in the test script, so it cannot tell whether the script stopped before some of its tests"
	case len(r.runners) > 0 && !out.Named:
		out.Stopped = "the test script's runners (" + strings.Join(uniq(r.runners), ", ") + ") reported no test: an earlier command of the script stopped it"
	case reported < len(r.runners):
		out.Stopped = fmt.Sprintf("%d of the test script's %d runs of %s reported: the script stopped before the others", reported, len(r.runners), strings.Join(uniq(r.runners), ", "))
	}
	sort.Strings(out.Failed)
	out.Failed = slices.Compact(out.Failed)
	return out
}

// maxLog is how much of a test command's output a run keeps: its tail.
const maxLog = 16 << 10
