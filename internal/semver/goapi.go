package semver

import (
	"errors"
	"fmt"
	"go/types"
	goversion "go/version"
	"io/fs"
	"os"
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
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/scan"
)

// goChanges compares the exported API and the requirements of module m
// between two trees (baseTree "" when there is no release yet).
func (c *checker) goChanges(m scan.Module, baseCommit, baseTree, headTree string) ([]Change, error) {
	headDir := filepath.Join(headTree, filepath.FromSlash(m.Dir))
	oldPkgs := map[string]*types.Package{}
	var baseDir string
	var baseErr error
	var baseHadNoGoMod bool
	var wg sync.WaitGroup
	if baseTree != "" {
		baseDir = filepath.Join(baseTree, filepath.FromSlash(m.Dir))
		if _, err := os.Stat(filepath.Join(baseDir, gomod.FileName)); errors.Is(err, fs.ErrNotExist) {
			baseHadNoGoMod = true
			if baseDir, err = c.asModule(baseCommit, m.Dir, headDir); err != nil {
				return nil, err
			}
		}
		// The two versions load at the same time.
		wg.Add(1)
		go func() {
			defer wg.Done()
			oldPkgs, baseErr = c.load(baseDir, "base")
		}()
	}
	if err := c.replaceWith(headDir); err != nil {
		wg.Wait()
		return nil, err
	}
	newPkgs, err := c.load(headDir, "head")
	wg.Wait()
	if err != nil {
		return nil, err
	}
	if baseErr != nil {
		return nil, baseErr
	}
	oldPath, newPath := modulePath(baseDir, m.Name), modulePath(headDir, m.Name)
	rel := func(mod, p string) string {
		r := strings.TrimPrefix(strings.TrimPrefix(p, mod), "/")
		if r == "" {
			return "."
		}
		return r
	}
	oldByRel, newByRel := map[string]*types.Package{}, map[string]*types.Package{}
	for p, pkg := range oldPkgs {
		oldByRel[rel(oldPath, p)] = pkg
	}
	for p, pkg := range newPkgs {
		newByRel[rel(newPath, p)] = pkg
	}
	var out []Change
	keys := map[string]bool{}
	for k := range oldByRel {
		keys[k] = true
	}
	for k := range newByRel {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		op, np := oldByRel[k], newByRel[k]
		switch {
		case op == nil && baseTree == "":
			// No release yet: every exported identifier is new.
			empty := types.NewPackage(np.Path(), np.Name())
			r := apidiff.ModuleChanges(&apidiff.Module{Path: newPath, Packages: []*types.Package{empty}}, &apidiff.Module{Path: newPath, Packages: []*types.Package{np}})
			for _, ch := range r.Changes {
				out = append(out, Change{Kind: GoAPI, Package: np.Path(), Message: ch.Message, Compatible: ch.Compatible})
			}
		case op == nil:
			out = append(out, Change{Kind: GoAPI, Package: np.Path(), Message: "package added", Compatible: true})
		case np == nil:
			out = append(out, Change{Kind: GoAPI, Package: op.Path(), Message: "package removed", Compatible: false})
		default:
			r := apidiff.ModuleChanges(&apidiff.Module{Path: oldPath, Packages: []*types.Package{op}}, &apidiff.Module{Path: newPath, Packages: []*types.Package{np}})
			for _, ch := range r.Changes {
				out = append(out, Change{Kind: GoAPI, Package: np.Path(), Message: ch.Message, Compatible: ch.Compatible})
			}
		}
	}
	if oldPath != newPath && baseDir != "" {
		out = append(out, Change{Kind: GoMod, Package: newPath, Message: fmt.Sprintf("module path changed from %s to %s", oldPath, newPath), Compatible: false})
	}
	out = append(out, requirementChanges(baseDir, headDir, newPath, baseHadNoGoMod)...)
	return out, nil
}

// asModule extracts the module in dir at a release from before it had a
// go.mod, and gives it one, as gorelease loads such a release: the head's
// module path, go directive and requirements (and go.sum), so that the
// packages it imports resolve as they do at the head, offline.
func (c *checker) asModule(commit, dir, headDir string) (string, error) {
	headMod := filepath.Join(headDir, gomod.FileName)
	data, err := os.ReadFile(headMod)
	if err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	head, err := modfile.ParseLax(headMod, data, nil)
	if err != nil || head.Module == nil {
		return "", errkind.New(errkind.Invalid, "%s: cannot read the module path: %v", headMod, err)
	}
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
	if sum, err := os.ReadFile(filepath.Join(headDir, "go.sum")); err == nil {
		if err := os.WriteFile(filepath.Join(modDir, "go.sum"), sum, 0o644); err != nil {
			return "", errkind.Wrap(errkind.Infra, err)
		}
	}
	return modDir, nil
}

// replaceWith points the head's go.mod at the other refs of the change set.
func (c *checker) replaceWith(dir string) error {
	if len(c.with) == 0 {
		return nil
	}
	file := filepath.Join(dir, gomod.FileName)
	data, err := os.ReadFile(file)
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	f, err := modfile.Parse(file, data, nil)
	if err != nil {
		return errkind.New(errkind.Invalid, "%s: %v", file, err)
	}
	for _, w := range c.with {
		if err := f.AddReplace(w.path, "", w.dir, ""); err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
	}
	out, err := f.Format()
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	return os.WriteFile(file, out, 0o644)
}

func modulePath(dir, fallback string) string {
	if dir == "" {
		return fallback
	}
	data, err := os.ReadFile(filepath.Join(dir, gomod.FileName))
	if err != nil {
		return fallback
	}
	if p := modfile.ModulePath(data); p != "" {
		return p
	}
	return fallback
}

// requirementChanges compares the go.mod requirements of a module at base
// and head, by gorelease's rule: a new requirement, a requirement raised to
// a higher major or minor version, or a raised go directive needs at least
// a minor release (dependents that share the requirement are made to
// upgrade). A patch-level raise, a lowered or a removed requirement needs
// no more than a patch release. baseHadNoGoMod says that the base release
// had no go.mod at all (baseDir holds one made for loading it): adding one
// needs a minor release.
func requirementChanges(baseDir, headDir, mod string, baseHadNoGoMod bool) []Change {
	if baseDir == "" {
		return nil
	}
	if baseHadNoGoMod {
		return []Change{{Kind: GoMod, Package: mod, Message: "go.mod added (the base release had none)", Compatible: true}}
	}
	parse := func(dir string) *modfile.File {
		data, err := os.ReadFile(filepath.Join(dir, gomod.FileName))
		if err != nil {
			return nil
		}
		f, err := modfile.ParseLax(gomod.FileName, data, nil)
		if err != nil {
			return nil
		}
		return f
	}
	of, nf := parse(baseDir), parse(headDir)
	if of == nil || nf == nil {
		return nil
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
