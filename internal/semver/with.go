package semver

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	modsemver "golang.org/x/mod/semver"

	"github.com/cascade-dev/cascade/internal/ecosystem/gomod"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/scan"
)

// withModule is a Go module of another ref of the change set (--with),
// extracted for the head to build with.
type withModule struct {
	scan.Module
	// dir is where its tree was extracted.
	dir string
	// repo, ref and commit are where it comes from.
	repo   scan.Repo
	ref    string
	commit string
	// version is the module's version tagged on commit, "" if none: the
	// ref is not released.
	version string
}

// splitWith splits "REPO@REF" at its last '@' (an npm scope's leading '@'
// is part of the name).
func splitWith(s string) (repo, ref string) {
	if i := strings.LastIndex(s, "@"); i > 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// addWith resolves a --with value, REPO@REF (REPO alone: its branch), and
// extracts that ref's Go modules for the head to build with. self is the
// checked repo; seen holds the repos given before.
func (c *checker) addWith(g *graph.Workspace, arg string, self int, seen map[int]bool) error {
	name, ref := splitWith(arg)
	if name == "" || strings.HasSuffix(arg, "@") {
		return errkind.New(errkind.Invalid, "--with %q: write REPO@REF, such as clever-db@strict-where", arg)
	}
	if strings.HasPrefix(ref, "-") {
		return errkind.New(errkind.Invalid, "--with %s: a ref cannot start with \"-\"", arg)
	}
	i, err := g.Lookup(name)
	if err != nil {
		return errkind.New(errkind.Invalid, "--with %s: %w", arg, err)
	}
	r := g.Repos[i]
	if i == self {
		return errkind.New(errkind.Invalid, "--with %s: %s is the repo being checked; use --head", arg, r.Name)
	}
	if seen[i] {
		return errkind.New(errkind.Invalid, "--with %s: %s is given twice", arg, r.Name)
	}
	seen[i] = true
	if r.Git == nil {
		return errkind.New(errkind.Infra, "--with %s: repo %s could not be read", arg, r.Name)
	}
	if ref == "" {
		ref = r.Branch
	}
	commit, err := r.Git.Resolve(c.ctx, ref)
	if err != nil && errkind.Of(err) == errkind.NotFound && r.URL != "" {
		if ferr := r.Git.Fetch(c.ctx); ferr != nil {
			return ferr
		}
		commit, err = r.Git.Resolve(c.ctx, ref)
	}
	if err != nil {
		if errkind.Of(err) == errkind.NotFound {
			return errkind.New(errkind.Invalid, "--with %s: repo %s has no branch, tag or commit %q; check the name (`git -C %s branch -a`)", arg, r.Name, ref, r.Git.Dir())
		}
		return err
	}
	if err := r.Git.CheckManifests(c.ctx, commit); err != nil {
		return fmt.Errorf("--with %s: %w", arg, err)
	}
	var mods []scan.Module
	for _, m := range r.Modules {
		if m.Ecosystem == scan.Go {
			mods = append(mods, m)
		}
	}
	if len(mods) == 0 {
		// Nothing a Go module can require (a plan passes every repo of
		// its change set).
		return nil
	}
	tagsAt, err := r.Git.TagsAt(c.ctx, commit)
	if err != nil {
		return err
	}
	dst := filepath.Join(c.work, fmt.Sprintf("with-%d", i))
	if err := r.Git.Extract(c.ctx, commit, dst); err != nil {
		return err
	}
	for _, m := range mods {
		// The ref may move the module to a new major path: the head
		// requires it under that path.
		m.Name = gomod.PathAt(dst, m.Dir, m.Name)
		c.with = append(c.with, withModule{
			Module: m, dir: filepath.Join(dst, filepath.FromSlash(m.Dir)),
			repo: r, ref: ref, commit: commit,
			version: scan.HighestTag(tagsAt, m.Dir),
		})
	}
	return nil
}

// replaceWith points the go.mod of the head module in dir (cascade's own
// extraction, never the user's checkout) at the --with trees, and says
// what they mean for the version. head is that go.mod as committed.
//
// A requirement on a --with module that the ref does not match is raised
// by the release: to the ref's version when it is tagged (counted by the
// requirement rule), else to a version not known yet, counted as a minor
// raise until it is released.
func (c *checker) replaceWith(dir string, head *modfile.File) ([]Change, []string, error) {
	if len(c.with) == 0 {
		return nil, nil, nil
	}
	required := map[string]string{}
	for _, r := range head.Require {
		required[r.Mod.Path] = r.Mod.Version
	}
	mod := head.Module.Mod.Path
	var changes []Change
	var notes []string
	noted := map[string]bool{}
	for _, w := range c.with {
		v, ok := required[w.Name]
		if !ok {
			continue
		}
		if !noted[w.repo.Name] {
			noted[w.repo.Name] = true
			note := fmt.Sprintf("the head was built with %s at %s (%.12s)", w.repo.Name, w.ref, w.commit)
			if w.version == "" {
				note += ", which is not released yet"
			}
			notes = append(notes, note)
		}
		same, err := c.isVersionOf(w, v)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case same:
		case w.version == "":
			changes = append(changes, Change{Kind: GoMod, Package: mod, Compatible: true,
				Message: fmt.Sprintf("requirement raised: %s %s => unreleased %s (%.12s); counted as a minor raise until it is released", w.Name, v, w.ref, w.commit)})
		case modsemver.Compare(modsemver.MajorMinor(w.version), modsemver.MajorMinor(v)) > 0:
			changes = append(changes, Change{Kind: GoMod, Package: mod, Compatible: true,
				Message: fmt.Sprintf("requirement raised: %s %s => %s (%s@%s)", w.Name, v, w.version, w.repo.Name, w.ref)})
		}
	}
	file := filepath.Join(dir, gomod.FileName)
	data, err := gitrepo.ReadTreeFile(dir, gomod.FileName, gitrepo.MaxManifest)
	if errkind.Of(err) == errkind.Invalid {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, errkind.Wrap(errkind.Infra, err)
	}
	f, err := modfile.Parse(file, data, nil)
	if err != nil {
		return nil, nil, errkind.New(errkind.Invalid, "%s: %v", file, err)
	}
	for _, w := range c.with {
		if err := f.AddReplace(w.Name, "", w.dir, ""); err != nil {
			return nil, nil, errkind.Wrap(errkind.Infra, err)
		}
	}
	out, err := f.Format()
	if err != nil {
		return nil, nil, errkind.Wrap(errkind.Infra, err)
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		return nil, nil, errkind.Wrap(errkind.Infra, err)
	}
	return changes, notes, nil
}

// isVersionOf reports whether version v of a --with module (a tag or a
// pseudo-version) is the ref's own commit.
func (c *checker) isVersionOf(w withModule, v string) (bool, error) {
	if module.IsPseudoVersion(v) {
		rev, err := module.PseudoVersionRev(v)
		return err == nil && strings.HasPrefix(w.commit, rev), nil
	}
	tag := scan.TagName(w.Dir, strings.TrimSuffix(v, "+incompatible"))
	commit, err := w.repo.Git.Resolve(c.ctx, "refs/tags/"+tag)
	if errkind.Of(err) == errkind.NotFound {
		return false, nil
	}
	return commit == w.commit, err
}
