package gomod

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/cascade-dev/cascade/internal/ecosystem"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/goproxy"
	"github.com/cascade-dev/cascade/internal/sandbox"
)

// Go verifies Go modules: `go list` narrows a change to the packages that
// import it, replace directives put candidates in place (served by the
// workspace's module proxy), and `go test -json` names every failure.
type Go struct {
	// Env is the sandboxed go command's environment (BuildEnv).
	Env []string
	// Version is the go command's version.
	Version string
	// ModCache is the module cache: written only by the fetch phase (go
	// commands that run no code of the repos), read by builds and tests.
	ModCache string
	// GoCache is the build cache: builds and tests see it through an
	// overlay, their writes thrown away, so that no job poisons the next.
	GoCache string
	// ReadOnly are the other directories go commands read (GOROOT, the
	// go command's configuration).
	ReadOnly []string

	proxy *goproxy.Server
}

var _ ecosystem.Ecosystem = Go{}

// Name is "go".
func (Go) Name() string { return "go" }

// Changes maps changed files to the packages of module m they change. A
// Go file changes the package of its directory (also one that the change
// deletes or adds). A testdata file, or documentation (which a package can
// only embed), changes the package that encloses it and every package above
// it that embeds files (//go:embed reaches into sub-directories without Go
// files). Anything else — go.mod, go.sum, data a package reads at run time
// from anywhere in the module, a C header included from ${SRCDIR}/.. — and
// a file no package encloses changes the whole module: selection may cost
// time, never a verdict.
func (Go) Changes(m ecosystem.Module, nested, files []string, base, cand fs.FS) (map[string]bool, bool, string) {
	pkgs := map[string]bool{}
	prefix := ""
	if m.Dir != "." && m.Dir != "" {
		prefix = m.Dir + "/"
	}
	// Deeper modules own the files under them.
	var deeper []string
	for _, n := range nested {
		if n != m.Dir && n != "." && strings.HasPrefix(n+"/", prefix) {
			deeper = append(deeper, n+"/")
		}
	}
	trees := []fs.FS{base, cand}
	var unowned []string
	isPkg := func(dir string) bool {
		if ignoredDir(dir) {
			return false
		}
		for _, t := range trees {
			if t != nil && hasGoFiles(t, path.Join(m.Dir, dir)) {
				return true
			}
		}
		return false
	}
	embeds := func(dir string) bool {
		for _, t := range trees {
			if t != nil && hasEmbed(t, path.Join(m.Dir, dir)) {
				return true
			}
		}
		return false
	}
	importPath := func(dir string) string {
		if dir == "." {
			return m.Name
		}
		return m.Name + "/" + dir
	}
outer:
	for _, f := range files {
		rel, ok := strings.CutPrefix(f, prefix)
		if !ok {
			continue
		}
		for _, d := range deeper {
			if strings.HasPrefix(f, d) {
				continue outer
			}
		}
		if rel == "go.mod" || rel == "go.sum" {
			return nil, true, rel + " changed"
		}
		dir := path.Dir(rel)
		if strings.HasSuffix(rel, ".go") && !ignoredDir(dir) {
			pkgs[importPath(dir)] = true
			continue
		}
		if !inTestdata(dir) && !isDoc(rel) {
			// Data, templates, C sources and headers: code may read or
			// include them from anywhere in the module (runtime.Caller,
			// ${SRCDIR}/..), so no package can be named.
			return nil, true, fmt.Sprintf("%s changed: a file that is neither Go source, testdata nor documentation may be read by any package of the module", f)
		}
		owned := false
		for d := dir; ; d = path.Dir(d) {
			if isPkg(d) {
				if !owned || embeds(d) {
					pkgs[importPath(d)] = true
				}
				owned = true
			}
			if d == "." {
				break
			}
		}
		if !owned {
			unowned = append(unowned, f)
		}
	}
	// A file outside every package cannot be mapped to one (a header a
	// cgo package includes from ${SRCDIR}/.., a file code finds through
	// runtime.Caller): the whole module counts.
	if len(unowned) > 0 {
		return nil, true, fmt.Sprintf("%s changed outside every package", unowned[0])
	}
	return pkgs, false, ""
}

// inTestdata reports a directory inside a testdata directory: its files are
// the enclosing package's test data.
func inTestdata(dir string) bool {
	for _, p := range strings.Split(dir, "/") {
		if p == "testdata" {
			return true
		}
	}
	return false
}

// isDoc reports documentation: a package can only embed it, never build it.
func isDoc(rel string) bool {
	base := strings.ToLower(path.Base(rel))
	switch path.Ext(base) {
	case ".md", ".markdown", ".rst", ".adoc":
		return true
	}
	for _, p := range []string{"license", "licence", "authors", "contributors", "notice", "changelog", "codeowners"} {
		if strings.HasPrefix(base, p) {
			return true
		}
	}
	return false
}

// ignoredDir reports directories the go command does not build: testdata
// and those starting with "." or "_", at any depth.
func ignoredDir(dir string) bool {
	if dir == "." {
		return false
	}
	for _, p := range strings.Split(dir, "/") {
		if p == "testdata" || strings.HasPrefix(p, ".") || strings.HasPrefix(p, "_") {
			return true
		}
	}
	return false
}

func hasGoFiles(t fs.FS, dir string) bool {
	entries, err := fs.ReadDir(t, dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".go") {
			return true
		}
	}
	return false
}

// hasEmbed reports whether a Go file in dir has a //go:embed directive.
func hasEmbed(t fs.FS, dir string) bool {
	entries, err := fs.ReadDir(t, dir)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		data, err := fs.ReadFile(t, path.Join(dir, e.Name()))
		if err == nil && bytes.Contains(data, []byte("//go:embed")) {
			return true
		}
	}
	return false
}

// Select lists the packages of downstream module m that import, directly
// or not, a changed package, from the import graph of its tree. When the
// graph cannot be read, every package is selected.
func (g Go) Select(ctx context.Context, run ecosystem.Runner, tree string, m ecosystem.Module, changed map[string]bool) (ecosystem.Selection, error) {
	if len(changed) == 0 {
		return ecosystem.Selection{}, nil
	}
	// go list runs none of the tree's code: it may fetch what it needs.
	c := g.Fetch(sandbox.Cmd{Args: []string{"go", "list", "-e", "-test", "-json=" + ListFields, "./..."},
		Dir: filepath.Join(tree, filepath.FromSlash(m.Dir)), Env: g.Env, OutputLimit: 64 << 20, SplitStderr: true}, tree)
	res, err := run(ctx, c)
	if err != nil {
		return ecosystem.Selection{}, err
	}
	if !res.OK() || res.Truncated > 0 {
		return ecosystem.Selection{All: true}, nil
	}
	test, build, deps, err := affected([]byte(res.Output), m.Name, changed)
	if err != nil {
		return ecosystem.Selection{All: true}, nil
	}
	// A changed module the downstream requires but none of whose packages
	// it imports is used some other way (a tools.go file, build tags, `go
	// run` in a test): imports cannot narrow it.
	for _, r := range m.Requires {
		if !holdsChanged(r, changed) {
			continue
		}
		imported := false
		for d := range deps {
			if d == r || strings.HasPrefix(d, r+"/") {
				imported = true
				break
			}
		}
		if !imported {
			return ecosystem.Selection{All: true}, nil
		}
	}
	return ecosystem.Selection{Test: test, Build: build}, nil
}

// holdsChanged reports whether module r holds a changed package.
func holdsChanged(r string, changed map[string]bool) bool {
	for p := range changed {
		if p == r || strings.HasPrefix(p, r+"/") {
			return true
		}
	}
	return false
}

// Prepare points the go.mod in dir at the upstreams (replace directives:
// a version the workspace proxy serves, or a local directory) and returns
// the steps: the repo's own build command if it has one, then `go test
// -json` on the selected packages (it compiles every package it is given
// and says which did not build), or the repo's own test command.
func (g Go) Prepare(ctx context.Context, run ecosystem.Runner, root, dir string, u ecosystem.Unit, cfg ecosystem.Config, ups []ecosystem.Upstream) ([]ecosystem.Step, error) {
	if len(ups) > 0 {
		if err := replace(dir, cfg.Label+":"+path.Join(u.Dir, FileName), ups); err != nil {
			return nil, err
		}
	}
	pkgs := u.Packages
	if len(pkgs) == 0 {
		pkgs = []string{"./..."}
	}
	// The fetch phase: the go command loads and compiles every package the
	// build and the tests need, downloading modules (with the network, the
	// module and build caches writable); it runs nothing of the tree.
	steps := []ecosystem.Step{{Stage: ecosystem.Fetch, Cmd: g.Fetch(sandbox.Cmd{
		Args: append(FetchArgs(), pkgs...), Dir: dir, Env: g.Env}, root), Refused: goproxy.Refused}}
	if cfg.Build != "" {
		steps = append(steps, ecosystem.Step{Stage: ecosystem.Build, Cmd: g.Offline(sandbox.Cmd{Shell: cfg.Build, Dir: dir, Env: g.Env}, root)})
	}
	// -count=1: go's own test cache does not know every input a test
	// reads (TZ, files outside the module); cascade caches by content.
	test := sandbox.Cmd{Args: append([]string{"go", "test", "-json", "-count=1"}, pkgs...), Dir: dir, Env: g.Env}
	if cfg.Test != "" {
		test = sandbox.Cmd{Shell: cfg.Test, Dir: dir, Env: g.Env}
	}
	steps = append(steps, ecosystem.Step{Stage: ecosystem.Test, Cmd: g.Offline(test, root),
		Results: func() ecosystem.Parser { return NewTestStream(root) }})
	return steps, nil
}

// FetchArgs is the go command of the fetch phase, before its packages: it
// downloads the modules the packages and their tests need and compiles
// them (into the build cache), running none of their code.
func FetchArgs() []string {
	return []string{"go", "list", "-e", "-deps", "-test", "-export", "-f", "{{if .Error}}{{.Error}}{{end}}"}
}

// Fetch makes c a command of the fetch phase (go commands that run no
// code of the tree): the network, the tree and the module and build
// caches writable.
func (g Go) Fetch(c sandbox.Cmd, tree string) sandbox.Cmd {
	c.Network = true
	c.Writable = append(c.Writable, tree, g.ModCache, g.GoCache)
	c.Shared = append(c.Shared, g.ModCache, g.GoCache)
	c.ReadOnly = append(c.ReadOnly, g.ReadOnly...)
	return c
}

// Offline makes c a command of the build-and-test phase: no network and
// no proxy, the module cache read-only, the build cache behind an
// overlay, only the tree writable.
func (g Go) Offline(c sandbox.Cmd, tree string) sandbox.Cmd {
	c.Env = append(append([]string(nil), c.Env...), "GOPROXY=off")
	if tree != "" {
		c.Writable = append(c.Writable, tree)
	}
	c.ReadOnly = append(c.ReadOnly, g.ModCache)
	c.ReadOnly = append(c.ReadOnly, g.ReadOnly...)
	c.Overlay = append(c.Overlay, g.GoCache)
	return c
}

// replace adds a replace directive for every upstream to the go.mod in dir;
// name is how errors call the file.
func replace(dir, name string, ups []ecosystem.Upstream) error {
	// The tree is the repo's: its go.mod is read and written without
	// leaving it (sandbox.ReadTreeFile).
	data, err := sandbox.ReadTreeFile(dir, FileName, 0)
	if err != nil {
		return errkind.New(errkind.Invalid, "cannot read %s: %v", name, err)
	}
	f, err := modfile.Parse(name, data, nil)
	if err != nil {
		return errkind.New(errkind.Invalid, "cannot rewrite %s to use the candidate: %v (fix the file)", name, err)
	}
	for _, up := range ups {
		target, version := up.Tree, ""
		if !up.Local {
			// A committed upstream is served by the workspace proxy under
			// a version (its tag, or a pseudo-version) and lands in the
			// module cache; uncommitted work is used in place.
			var names []string
			for t := range up.Tags {
				names = append(names, t)
			}
			target, version = up.Name, ServedVersion(up.Module, names, func(t string) string { return up.Tags[t] }, up.Commit, up.Time)
		}
		if err := f.AddReplace(up.Name, "", target, version); err != nil {
			return errkind.New(errkind.Invalid, "cannot rewrite %s to use the candidate: %v", name, err)
		}
	}
	out, err := f.Format()
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	return sandbox.WriteTreeFile(dir, FileName, out)
}

// ServedVersion is the version under which a module proxy serves module
// m at commit: its highest tag reachable from the commit (tags are
// "v1.2.0", or "dir/v1.2.0" for a module in dir) when that tag is on the
// commit itself, else a pseudo-version above that tag. tagged reports the
// commit a tag points at; t is the commit's time.
func ServedVersion(m ecosystem.Module, tags []string, tagged func(tag string) string, commit string, t time.Time) string {
	prefix := tagPrefix(m)
	older := ""
	for _, tag := range tags {
		v, ok := strings.CutPrefix(tag, prefix)
		if !ok || strings.Contains(v, "/") || !semver.IsValid(v) || module.Check(m.Name, v) != nil {
			continue
		}
		if older == "" || semver.Compare(v, older) > 0 {
			older = v
		}
	}
	if older != "" && tagged(prefix+older) == commit {
		return older
	}
	major := "v0"
	if _, pathMajor, ok := module.SplitPathVersion(m.Name); ok && pathMajor != "" {
		major = strings.TrimLeft(pathMajor, "/.")
	} else if older != "" {
		major = semver.Major(older)
	}
	if older != "" && semver.Major(older) != major {
		older = ""
	}
	return module.PseudoVersion(major, older, t, commit[:12])
}

func tagPrefix(m ecosystem.Module) string { return goproxy.TagPrefix(m.Name, m.Dir) }

// Toolchain is the go command's version.
func (g Go) Toolchain(context.Context) (string, error) { return g.Version, nil }

// Pins is true: go.mod requires exact versions.
func (Go) Pins() bool { return true }

// Release returns the tag or commit a go.mod requirement names: the
// module's tag for a release, the commit of a pseudo-version.
func (Go) Release(m ecosystem.Module, required string, tags []string) string {
	if !semver.IsValid(required) {
		return ""
	}
	if module.IsPseudoVersion(required) {
		rev, err := module.PseudoVersionRev(required)
		if err != nil {
			return ""
		}
		return rev
	}
	tag := tagPrefix(m) + strings.TrimSuffix(required, "+incompatible")
	for _, t := range tags {
		if t == tag {
			return "refs/tags/" + tag
		}
	}
	return ""
}
