package semver

import (
	"errors"
	"fmt"
	"go/types"
	goversion "go/version"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"golang.org/x/exp/apidiff"
	"golang.org/x/mod/modfile"
	modsemver "golang.org/x/mod/semver"
	"golang.org/x/tools/go/packages"

	"github.com/cascade-dev/cascade/internal/ecosystem/gomod"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/trace"
)

// goChanges compares the exported API and the requirements of module m
// between two trees (baseTree "" when there is no release yet), and says
// what the --with refs mean for it.
func (c *checker) goChanges(m scan.Module, baseCommit, baseTree, headTree string) ([]Change, []string, error) {
	headDir := filepath.Join(headTree, filepath.FromSlash(m.Dir))
	// The go.mod files as committed: loading packages (-mod=mod) may
	// rewrite them.
	headMod, err := c.readGoMod(headDir, m.Dir, "head")
	if err != nil {
		return nil, nil, err
	}
	var baseDir string
	var baseMod *modfile.File
	var baseHadNoGoMod bool
	if baseTree != "" {
		baseDir = filepath.Join(baseTree, filepath.FromSlash(m.Dir))
		if _, err := os.Stat(filepath.Join(baseDir, gomod.FileName)); errors.Is(err, fs.ErrNotExist) {
			baseHadNoGoMod = true
			if baseDir, err = c.asModule(baseCommit, m.Dir, headDir, headMod); err != nil {
				return nil, nil, err
			}
		}
		if baseMod, err = c.readGoMod(baseDir, m.Dir, "base"); err != nil {
			return nil, nil, err
		}
	}
	withChanges, notes, err := c.replaceWith(headDir, headMod)
	if err != nil {
		return nil, nil, err
	}
	oldPkgs := map[string]*types.Package{}
	var baseErr error
	var wg sync.WaitGroup
	if baseDir != "" {
		// The two versions load at the same time.
		wg.Add(1)
		go func() {
			defer wg.Done()
			oldPkgs, baseErr = c.load(baseDir, "base")
		}()
	}
	newPkgs, err := c.load(headDir, "head")
	wg.Wait()
	if err != nil {
		return nil, nil, err
	}
	if baseErr != nil {
		return nil, nil, baseErr
	}
	newPath := headMod.Module.Mod.Path
	oldPath := newPath
	if baseMod != nil {
		oldPath = baseMod.Module.Mod.Path
	}
	out := apiChanges(oldPkgs, newPkgs, oldPath, newPath, baseDir != "")
	if oldPath != newPath {
		out = append(out, Change{Kind: GoMod, Package: newPath, Message: fmt.Sprintf("module path changed from %s to %s", oldPath, newPath), Compatible: false})
	}
	out = append(out, requirementChanges(baseMod, headMod, newPath, baseHadNoGoMod)...)
	return append(out, withChanges...), notes, nil
}

// apiChanges compares the packages of a module at base and head by their
// path inside the module. Without a base every exported identifier is new.
func apiChanges(oldPkgs, newPkgs map[string]*types.Package, oldPath, newPath string, hasBase bool) []Change {
	rel := func(mod, p string) string {
		r := strings.TrimPrefix(strings.TrimPrefix(p, mod), "/")
		if r == "" {
			return "."
		}
		return r
	}
	oldByRel, newByRel := map[string]*types.Package{}, map[string]*types.Package{}
	keys := map[string]bool{}
	for p, pkg := range oldPkgs {
		oldByRel[rel(oldPath, p)] = pkg
		keys[rel(oldPath, p)] = true
	}
	for p, pkg := range newPkgs {
		newByRel[rel(newPath, p)] = pkg
		keys[rel(newPath, p)] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []Change
	diff := func(op, np *types.Package, opPath string) {
		r := apidiff.ModuleChanges(&apidiff.Module{Path: opPath, Packages: []*types.Package{op}}, &apidiff.Module{Path: newPath, Packages: []*types.Package{np}})
		for _, ch := range r.Changes {
			out = append(out, Change{Kind: GoAPI, Package: np.Path(), Message: ch.Message, Compatible: ch.Compatible})
		}
	}
	for _, k := range sorted {
		op, np := oldByRel[k], newByRel[k]
		switch {
		case op == nil && !hasBase:
			diff(types.NewPackage(np.Path(), np.Name()), np, newPath)
		case op == nil:
			out = append(out, Change{Kind: GoAPI, Package: np.Path(), Message: "package added", Compatible: true})
		case np == nil:
			out = append(out, Change{Kind: GoAPI, Package: op.Path(), Message: "package removed", Compatible: false})
		default:
			diff(op, np, oldPath)
		}
	}
	return out
}

// readGoMod parses the go.mod of the module in dir (modDir in the repo) at
// one side of the comparison.
func (c *checker) readGoMod(dir, modDir, side string) (*modfile.File, error) {
	name := path.Join(modDir, gomod.FileName)
	data, err := gitrepo.ReadTreeFile(dir, gomod.FileName, gitrepo.MaxManifest)
	if errkind.Of(err) == errkind.Invalid {
		return nil, fmt.Errorf("%s at the %s of %s: %w", name, side, c.repo.Name, err)
	}
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, fmt.Errorf("reading %s at the %s of %s: %w", name, side, c.repo.Name, err))
	}
	f, err := modfile.ParseLax(name, data, nil)
	if err == nil && f.Module == nil {
		err = errors.New("no module directive")
	}
	if err != nil {
		return nil, errkind.New(errkind.Invalid, "%s at the %s of %s: %v (fix the file)", name, side, c.repo.Name, err)
	}
	return f, nil
}

// asModule extracts the module in dir at a release from before it had a
// go.mod, and gives it one, as gorelease loads such a release: the head's
// module path, go directive and requirements (and go.sum), so that the
// packages it imports resolve as they do at the head, offline.
func (c *checker) asModule(commit, dir, headDir string, head *modfile.File) (string, error) {
	f := &modfile.File{}
	if err := f.AddModuleStmt(head.Module.Mod.Path); err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	if head.Go != nil {
		if err := f.AddGoStmt(head.Go.Version); err != nil {
			return "", errkind.Wrap(errkind.Infra, err)
		}
	}
	for _, r := range head.Require {
		f.AddNewRequire(r.Mod.Path, r.Mod.Version, r.Indirect)
	}
	out, err := f.Format()
	if err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	// Its own copy: the tree of this commit may serve other modules as is.
	c.copies++
	tree := filepath.Join(c.work, fmt.Sprintf("base-nogomod-%d", c.copies))
	if err := c.repo.Git.Extract(c.ctx, commit, tree); err != nil {
		return "", err
	}
	modDir := filepath.Join(tree, filepath.FromSlash(dir))
	if err := os.MkdirAll(modDir, 0o755); err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	if err := os.WriteFile(filepath.Join(modDir, gomod.FileName), out, 0o644); err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	if sum, err := gitrepo.ReadTreeFile(headDir, "go.sum", gitrepo.MaxObject); err == nil {
		if err := os.WriteFile(filepath.Join(modDir, "go.sum"), sum, 0o644); err != nil {
			return "", errkind.Wrap(errkind.Infra, err)
		}
	}
	return modDir, nil
}

// requirementChanges compares the go.mod requirements of a module at base
// and head, by gorelease's rule: a new requirement, a requirement raised to
// a higher major or minor version, or a raised go directive needs at least
// a minor release (dependents that share the requirement are made to
// upgrade). A patch-level raise, a lowered or a removed requirement needs
// no more than a patch release. baseHadNoGoMod says that the base release
// had no go.mod at all (of is the one made for loading it): adding one
// needs a minor release. of is nil without a base release.
func requirementChanges(of, nf *modfile.File, mod string, baseHadNoGoMod bool) []Change {
	if of == nil {
		return nil
	}
	if baseHadNoGoMod {
		return []Change{{Kind: GoMod, Package: mod, Message: "go.mod added (the base release had none)", Compatible: true}}
	}
	var out []Change
	old := map[string]string{}
	for _, r := range of.Require {
		old[r.Mod.Path] = r.Mod.Version
	}
	for _, r := range nf.Require {
		v, ok := old[r.Mod.Path]
		switch {
		case !ok:
			out = append(out, Change{Kind: GoMod, Package: mod, Message: fmt.Sprintf("requirement added: %s %s", r.Mod.Path, r.Mod.Version), Compatible: true})
		case modsemver.Compare(modsemver.MajorMinor(r.Mod.Version), modsemver.MajorMinor(v)) > 0:
			out = append(out, Change{Kind: GoMod, Package: mod, Message: fmt.Sprintf("requirement raised: %s %s => %s", r.Mod.Path, v, r.Mod.Version), Compatible: true})
		}
	}
	if of.Go != nil && nf.Go != nil && goversion.Compare(goRelease(nf.Go.Version), goRelease(of.Go.Version)) > 0 {
		out = append(out, Change{Kind: GoMod, Package: mod, Message: fmt.Sprintf("go directive raised: %s => %s", of.Go.Version, nf.Go.Version), Compatible: true})
	}
	return out
}

// goRelease is the Go release a go directive names, as go/version spells
// it: "1.22" and "1.22.0" both name the release go1.22.0.
func goRelease(v string) string {
	gv := "go" + v
	if goversion.IsValid(gv) && goversion.Lang(gv) == gv {
		gv += ".0"
	}
	return gv
}

// load type-checks the module's importable packages: not internal ones,
// not commands.
func (c *checker) load(dir, side string) (map[string]*types.Package, error) {
	tmp, err := os.MkdirTemp(c.work, "env-")
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	cfg := &packages.Config{
		Context: c.ctx,
		// Types from export data: the go command compiles (and caches) the
		// packages; their exported API is all apidiff needs.
		Mode: packages.NeedName | packages.NeedTypes | packages.NeedModule,
		Dir:  dir,
		Env:  sandbox.Env(tmp, c.env),
	}
	// The go command packages.Load runs (go list -json ... ./...).
	trace.Command(c.ctx, dir, "go", "list", "./...")
	pkgs, err := packages.Load(cfg, "./...")
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, fmt.Errorf("loading the %s packages of %s: %w", side, c.repo.Name, err))
	}
	out := map[string]*types.Package{}
	for _, p := range pkgs {
		if p.Name == "main" || isInternal(p.PkgPath) {
			continue
		}
		if len(p.Errors) > 0 {
			var msgs []string
			for i, e := range p.Errors {
				if i == 3 {
					break
				}
				msgs = append(msgs, e.Error())
			}
			return nil, errkind.New(errkind.Infra, "package %s does not build at %s (%s):\n  %s", p.PkgPath, side, c.repo.Name, strings.Join(msgs, "\n  "))
		}
		if p.Types != nil {
			out[p.PkgPath] = p.Types
		}
	}
	return out, nil
}

func isInternal(p string) bool {
	return strings.HasSuffix(p, "/internal") || strings.Contains(p, "/internal/") || strings.HasPrefix(p, "internal/")
}
