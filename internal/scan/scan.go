// Package scan reads what every repository of a workspace declares: its Go
// modules, npm packages and catalog entities. Manifests are read from git
// objects at the repo's branch (no checkout) and what was read is cached by
// commit id, so an unchanged workspace re-scans without running git.
package scan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/cascade-dev/cascade/internal/ecosystem/catalog"
	"github.com/cascade-dev/cascade/internal/ecosystem/gomod"
	"github.com/cascade-dev/cascade/internal/ecosystem/npm"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/goproxy"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Ecosystems of a module.
const (
	Go  = "go"
	NPM = "npm"
)

// Repo is what one repository declares at one commit.
type Repo struct {
	Name   string `json:"name"`
	Path   string `json:"path,omitempty"`
	URL    string `json:"url,omitempty"`
	Branch string `json:"branch,omitempty"`
	Tier   string `json:"tier,omitempty"`
	Commit string `json:"commit"`
	Content
	// Cached is true when the content came from the cache.
	Cached bool `json:"-"`
	// Git is the opened repository (nil when the repo was not readable).
	Git *gitrepo.Repo `json:"-"`
}

// Content is the part of a Repo derived from its commit alone: what the
// cache stores.
type Content struct {
	Modules  []Module         `json:"modules"`
	Catalog  []catalog.Entity `json:"catalog,omitempty"`
	Warnings []string         `json:"warnings,omitempty"`
	// TagsState is the digest of the tags the module versions were computed from.
	TagsState string `json:"tags_state,omitempty"`
}

// Module is a Go module or npm package inside a repo.
type Module struct {
	Name      string `json:"name"`
	Ecosystem string `json:"ecosystem"`
	// Dir is the module's directory inside the repo, slash-separated; "." for the root.
	Dir      string        `json:"dir"`
	Version  string        `json:"version,omitempty"`
	Requires []Requirement `json:"requires,omitempty"`
	// Tools are a Go module's tool packages (go.mod `tool` directives).
	Tools []string `json:"tools,omitempty"`
	// Line is where the manifest is malformed, for warnings; unused otherwise.
}

// Requirement is one dependency of a module, on any module (inside the
// workspace or not).
type Requirement struct {
	Module   string `json:"module"`
	Version  string `json:"version"`
	Dev      bool   `json:"dev,omitempty"`
	Indirect bool   `json:"indirect,omitempty"`
	// Kind is the package.json field for npm ("dependencies", ...), "require" for Go.
	Kind string `json:"kind,omitempty"`
	// RepoHint names the repo a git URL or file: path points at (npm).
	RepoHint string `json:"repo_hint,omitempty"`
	// PathHint is a file: path relative to the repo root (npm).
	PathHint string `json:"path_hint,omitempty"`
}

// Options controls a scan.
type Options struct {
	// CacheDir holds mirrors and the manifest cache.
	CacheDir string
	// Fetch updates mirrors of url: repos from their remotes first.
	Fetch bool
	// NoCache ignores (but still refreshes) cached content.
	NoCache bool
	// Jobs is how many repos are read at once; 0 means a default.
	Jobs int
}

// cacheVersion changes whenever what a scan derives from a commit changes.
const cacheVersion = "v5"

// Workspace scans every repo of ws.
func Workspace(ctx context.Context, ws *workspace.Workspace, opt Options) ([]Repo, error) {
	jobs := opt.Jobs
	if jobs <= 0 {
		jobs = 2 * runtime.GOMAXPROCS(0)
	}
	out := make([]Repo, len(ws.Repos))
	errs := make([]error, len(ws.Repos))
	sem := make(chan struct{}, jobs)
	var wg sync.WaitGroup
	for i, spec := range ws.Repos {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			out[i], errs[i] = One(ctx, ws, spec, opt)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Open returns the git repository of spec: the local one, or the mirror.
func Open(ctx context.Context, spec workspace.RepoSpec, cacheDir string, fetch bool) (*gitrepo.Repo, error) {
	if spec.URL != "" {
		return gitrepo.Mirror(ctx, cacheDir, spec.URL, fetch)
	}
	return gitrepo.Open(spec.Path)
}

// One scans one repo.
func One(ctx context.Context, ws *workspace.Workspace, spec workspace.RepoSpec, opt Options) (Repo, error) {
	r := Repo{Name: spec.Name, Path: spec.Path, URL: spec.URL, Branch: spec.Branch, Tier: spec.Tier}
	g, err := Open(ctx, spec, opt.CacheDir, opt.Fetch)
	if err != nil {
		return r, fmt.Errorf("repo %s: %w", spec.Name, err)
	}
	r.Git = g
	ref := "HEAD"
	if spec.Branch != "" {
		ref = "refs/heads/" + spec.Branch
	} else if r.Branch == "" {
		r.Branch = g.DefaultBranch()
	}
	commit, err := g.Resolve(ctx, ref)
	if err != nil {
		if errkind.Of(err) != errkind.NotFound {
			return r, fmt.Errorf("repo %s: %w", spec.Name, err)
		}
		if spec.Branch != "" {
			return r, errkind.Wrap(errkind.Invalid, &workspace.InputError{File: ws.File, Line: spec.Line,
				Msg: fmt.Sprintf("repo %s has no branch %q; fix `branch:` or create the branch", spec.Name, spec.Branch)})
		}
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: repository has no commits yet; nothing to read", spec.Name))
		return r, nil
	}
	r.Commit = commit
	tags, err := g.TagsState(ctx)
	if err != nil {
		return r, fmt.Errorf("repo %s: %w", spec.Name, err)
	}
	cacheFile := ""
	if opt.CacheDir != "" {
		cacheFile = filepath.Join(opt.CacheDir, "scan", cacheVersion, commit[:2], commit+".json")
	}
	if cacheFile != "" && !opt.NoCache {
		if c, ok := readCache(cacheFile); ok && c.TagsState == tags {
			r.Content, r.Cached = c, true
			r.prefixWarnings()
			return r, nil
		}
	}
	c, err := read(ctx, g, commit)
	if err != nil {
		return r, fmt.Errorf("repo %s (branch %s): %w", spec.Name, r.Branch, err)
	}
	c.TagsState = tags
	if tags != "" {
		if err := setGoVersions(ctx, g, commit, &c); err != nil {
			return r, fmt.Errorf("repo %s: %w", spec.Name, err)
		}
	}
	if cacheFile != "" {
		writeCache(cacheFile, c) // a cache that cannot be written only costs time
	}
	r.Content = c
	r.prefixWarnings()
	return r, nil
}

func (r *Repo) prefixWarnings() {
	for i, w := range r.Warnings {
		r.Warnings[i] = r.Name + ": " + w
	}
}

func readCache(file string) (Content, bool) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Content{}, false
	}
	var c Content
	if json.Unmarshal(data, &c) != nil {
		return Content{}, false
	}
	return c, true
}

func writeCache(file string, c Content) {
	data, err := json.Marshal(c)
	if err != nil {
		return
	}
	if os.MkdirAll(filepath.Dir(file), 0o755) != nil {
		return
	}
	_ = workspace.WriteFile(file, data, 0o644)
}

// skipDir reports directories whose manifests are not the repo's own.
func skipDir(name string) bool {
	return name == "vendor" || name == "testdata" || name == "node_modules" ||
		name == "fixtures" || name == "__fixtures__" ||
		strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// UnnamedPackage is the module name of a package.json without a name in
// dir: its path ("package.json", "web/package.json").
func UnnamedPackage(dir string) string { return path.Join(dir, npm.FileName) }

// read reads every manifest at commit through one cat-file process.
func read(ctx context.Context, g *gitrepo.Repo, commit string) (Content, error) {
	var c Content
	b, err := g.OpenBatch(ctx)
	if err != nil {
		return c, err
	}
	defer b.Close()
	_, tree, err := b.Commit(commit)
	if err != nil {
		return c, err
	}
	type file struct{ path, id string }
	var files []file
	err = b.Walk(tree, func(_, name string) bool { return !skipDir(name) }, func(p string, e gitrepo.TreeEntry) error {
		switch path.Base(p) {
		case gomod.FileName, npm.FileName, catalog.FileName:
			files = append(files, file{p, e.ID})
		}
		return nil
	})
	if err != nil {
		return c, err
	}
	for _, f := range files {
		// The size is checked from cat-file's answer before the blob is read.
		// A manifest over the limit is refused, not skipped: a module
		// cascade cannot see could be taken for one that is not there.
		obj, err := b.ReadLimit(f.id, gitrepo.MaxManifest)
		if tl := (*gitrepo.ObjectTooLargeError)(nil); errors.As(err, &tl) {
			return c, errkind.Wrap(errkind.Invalid, &gitrepo.ManifestTooLargeError{Path: f.path, Commit: commit, Size: tl.Size})
		}
		if err != nil {
			return c, err
		}
		dir := path.Dir(f.path)
		switch path.Base(f.path) {
		case gomod.FileName:
			m, err := gomod.Parse(f.path, obj.Data)
			if err != nil {
				c.Warnings = append(c.Warnings, err.Error()+" (module skipped; fix the file)")
				continue
			}
			c.Modules = append(c.Modules, goModule(dir, m))
		case npm.FileName:
			p, err := npm.Parse(f.path, obj.Data)
			if err != nil {
				c.Warnings = append(c.Warnings, err.Error()+" (package skipped; fix the file)")
				continue
			}
			if p.Name == "" {
				// A package.json without a name (an application, a
				// workspace root) cannot be depended on, but depends on
				// others: it is a module named by its file.
				if len(p.Deps) == 0 {
					continue
				}
				p.Name = UnnamedPackage(dir)
			}
			c.Modules = append(c.Modules, npmModule(dir, p))
		case catalog.FileName:
			ents, err := catalog.Parse(f.path, obj.Data)
			if err != nil {
				c.Warnings = append(c.Warnings, err.Error()+" (catalog file skipped; fix the file)")
				continue
			}
			c.Catalog = append(c.Catalog, ents...)
		}
	}
	sort.SliceStable(c.Modules, func(i, j int) bool {
		if c.Modules[i].Dir != c.Modules[j].Dir {
			return c.Modules[i].Dir < c.Modules[j].Dir
		}
		return c.Modules[i].Ecosystem < c.Modules[j].Ecosystem
	})
	return c, nil
}

func goModule(dir string, m *gomod.Module) Module {
	mod := Module{Name: m.Path, Ecosystem: Go, Dir: dir, Tools: m.Tools}
	for _, r := range m.Requires {
		mod.Requires = append(mod.Requires, Requirement{Module: r.Path, Version: r.Version, Indirect: r.Indirect, Kind: "require"})
	}
	return mod
}

func npmModule(dir string, p *npm.Package) Module {
	mod := Module{Name: p.Name, Ecosystem: NPM, Dir: dir, Version: p.Version}
	for _, d := range p.Deps {
		req := Requirement{Module: d.Target, Version: d.Spec, Dev: d.Kind == npm.Dev, Kind: d.Kind}
		if name, ok := npm.GitRepoName(d.Spec); ok {
			req.RepoHint = name
		}
		if fp, ok := npm.FilePath(d.Spec); ok {
			req.PathHint = path.Clean(path.Join(dir, filepath.ToSlash(fp)))
		}
		mod.Requires = append(mod.Requires, req)
	}
	return mod
}

// setGoVersions sets each Go module's version to the highest semver tag
// for it ("v1.2.0" for a root module, "sub/dir/v1.2.0" for one in sub/dir)
// reachable from commit.
func setGoVersions(ctx context.Context, g *gitrepo.Repo, commit string, c *Content) error {
	hasGo := false
	for _, m := range c.Modules {
		hasGo = hasGo || m.Ecosystem == Go
	}
	if !hasGo {
		return nil
	}
	tags, err := g.MergedTags(ctx, commit)
	if err != nil {
		return err
	}
	for i, m := range c.Modules {
		if m.Ecosystem != Go {
			continue
		}
		// Only the versions the module's path allows: a v2.0.0 tag is not
		// a release of a module without /v2.
		prefix := TagName(TagDir(m.Name, m.Dir), "")
		var own []string
		for _, t := range tags {
			if v, ok := strings.CutPrefix(t, prefix); ok && module.Check(m.Name, v) == nil {
				own = append(own, t)
			}
		}
		c.Modules[i].Version = HighestTag(own, TagDir(m.Name, m.Dir))
	}
	return nil
}

// TagDir is the directory part of the tags of module modPath in dir (see
// goproxy.TagDir: a major-version subdirectory is left out).
func TagDir(modPath, dir string) string { return goproxy.TagDir(modPath, dir) }

// TagName is the tag of version v for the module in dir ("." for the
// root): "v1.2.0", or "sub/dir/v1.2.0"; dir is a TagDir.
func TagName(dir, v string) string {
	if dir == "." || dir == "" {
		return v
	}
	return dir + "/" + v
}

// HighestTag returns the highest semver version among tags for the module
// in dir ("." for the root), without the directory prefix; "" if none.
func HighestTag(tags []string, dir string) string {
	prefix := ""
	if dir != "." && dir != "" {
		prefix = dir + "/"
	}
	best := ""
	for _, t := range tags {
		v, ok := strings.CutPrefix(t, prefix)
		if !ok || !semver.IsValid(v) || semver.Canonical(v) != v && semver.Canonical(v)+semver.Build(v) != v {
			continue
		}
		if strings.Contains(v, "/") {
			continue
		}
		if best == "" || semver.Compare(v, best) > 0 {
			best = v
		}
	}
	return best
}
