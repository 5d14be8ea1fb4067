// Package semver computes the version bump a change needs: it compares a
// repo's Go modules between a base release and a head (their exported API
// with apidiff, their go.mod requirements as gorelease does) and the JSON
// Schemas the repo declares as its API (with schemadiff), and checks a
// proposed version against the result.
package semver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	modsemver "golang.org/x/mod/semver"

	"github.com/cascade-dev/cascade/internal/ecosystem/gomod"
	"github.com/cascade-dev/cascade/internal/ecosystems"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/schemadiff"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Bumps, smallest first.
const (
	None  = "none"
	Patch = "patch"
	Minor = "minor"
	Major = "major"
)

var rank = map[string]int{None: 0, Patch: 1, Minor: 2, Major: 3}

// Change kinds.
const (
	GoAPI      = "go-api"
	GoMod      = "go-mod"
	JSONSchema = "jsonschema"
)

// Change is one change that matters to the version.
type Change struct {
	Kind       string `json:"kind"`
	Package    string `json:"package"`
	Message    string `json:"message"`
	Compatible bool   `json:"compatible"`
	// Witness is, for a JSON Schema change, an instance that shows it.
	Witness any `json:"witness,omitempty"`
}

// Module is the verdict for one module.
type Module struct {
	Repo   string `json:"repo"`
	Module string `json:"module"`
	Dir    string `json:"dir"`
	// Base is the release compared with ("none" without one), Head the ref.
	Base       string `json:"base"`
	BaseCommit string `json:"base_commit,omitempty"`
	Head       string `json:"head"`
	HeadCommit string `json:"head_commit"`
	Required   string `json:"required"`
	Suggested  string `json:"suggested"`
	Proposed   string `json:"proposed,omitempty"`
	// OK is false when the proposed version under-promises.
	OK      bool     `json:"ok"`
	Changes []Change `json:"changes"`
	Notes   []string `json:"notes,omitempty"`
}

// Report is the result for a repo.
type Report struct {
	Modules []Module `json:"modules"`
}

// OK reports whether every proposed version is enough.
func (r *Report) OK() bool {
	for _, m := range r.Modules {
		if !m.OK {
			return false
		}
	}
	return true
}

// Options are the inputs besides the workspace.
type Options struct {
	Repo     string
	Base     string // a tag; default: the highest semver tag reachable from head
	Head     string // a ref; default: the repo's branch
	Proposed string
	CacheDir string
	// With are other refs (REPO@REF) that ship together: the head is built
	// with their Go modules in place, as the release will be.
	With []string
	// Progress, if set, hears about each module as its comparison
	// starts (done false) and ends (done true), with the module count.
	Progress func(module string, done bool, total int)
}

// Check computes the bump for every module of the repo.
func Check(ctx context.Context, g *graph.Workspace, opt Options) (*Report, error) {
	node, err := g.Lookup(opt.Repo)
	if err != nil {
		return nil, err
	}
	r := g.Repos[node]
	head := opt.Head
	if head == "" {
		head = r.Branch
	}
	headCommit, err := r.Git.Resolve(ctx, head)
	if err != nil {
		if errkind.Of(err) == errkind.NotFound {
			return nil, errkind.New(errkind.Invalid, "repo %s has no branch, tag or commit %q", r.Name, head)
		}
		return nil, err
	}
	// Refused before anything reads the tree (see gitrepo.CheckManifests).
	if err := r.Git.CheckManifests(ctx, headCommit); err != nil {
		return nil, fmt.Errorf("%s@%s: %w", r.Name, head, err)
	}
	if opt.Proposed != "" && (!modsemver.IsValid(opt.Proposed) || modsemver.Canonical(opt.Proposed) != opt.Proposed) {
		// The go command takes only canonical versions as module versions:
		// v1.3 and v1.3.0+meta name no release it would use.
		want := modsemver.Canonical(opt.Proposed)
		if want == "" {
			want = modsemver.Canonical("v" + opt.Proposed)
		}
		if want == "" {
			want = "a version such as v1.5.0"
		}
		return nil, errkind.New(errkind.Invalid, "--proposed %q is not a version the go command can release; write it as %s", opt.Proposed, want)
	}
	if opt.CacheDir == "" {
		return nil, errkind.New(errkind.Invalid, "semver needs a cache directory")
	}
	sl, err := sandbox.AcquireSlot(opt.CacheDir, "semver")
	if err != nil {
		return nil, err
	}
	defer sl.Release()
	work := sl.Dir
	env, stop, err := buildEnv(ctx, g, opt.CacheDir)
	if err != nil {
		return nil, err
	}
	defer stop()
	headTagList, err := r.Git.TagsAt(ctx, headCommit)
	if err != nil {
		return nil, err
	}
	c := &checker{ctx: ctx, repo: r, work: work, env: env, trees: map[string]string{}}
	defer c.close()
	c.labels = map[string]string{headCommit: "head"}
	seen := map[int]bool{}
	for _, w := range opt.With {
		if err := c.addWith(g, w, node, seen); err != nil {
			return nil, err
		}
	}
	headTree, err := c.tree(headCommit)
	if err != nil {
		return nil, err
	}
	mods, err := modulesAt(headTree, r.Modules)
	if err != nil {
		return nil, err
	}
	if len(mods) == 0 {
		return nil, errkind.New(errkind.Invalid, "repo %s has no Go module and declares no JSON Schema API (api.jsonschema in .cascade.yaml) at %s", r.Name, head)
	}
	proposals := make([]string, len(mods))
	for i, m := range mods {
		proposals[i] = opt.Proposed
		if proposals[i] == "" {
			proposals[i] = scan.HighestTag(headTagList, m.Dir)
		}
	}
	bases, err := c.bases(opt.Base, mods, headCommit, headTagList, proposals)
	if err != nil {
		return nil, err
	}
	report := &Report{}
	for i, m := range mods {
		mr := Module{Repo: r.Name, Module: m.Name, Dir: m.Dir, Head: head, HeadCommit: headCommit, Changes: []Change{}}
		if m.headPath != "" {
			// The head moved the module to a new major path: the
			// version is checked against that path.
			mr.Module = m.headPath
		}
		base, baseCommit := bases[i].version, bases[i].commit
		mr.Base, mr.BaseCommit = base, baseCommit
		if base == "" {
			mr.Base = "none"
			mr.Notes = append(mr.Notes, bases[i].none)
		}
		if bases[i].note != "" {
			mr.Notes = append(mr.Notes, bases[i].note)
		}
		if opt.Progress != nil {
			opt.Progress(mr.Module, false, len(mods))
		}
		if err := c.compare(&mr, m, baseCommit, headCommit); err != nil {
			return nil, err
		}
		if opt.Progress != nil {
			opt.Progress(mr.Module, true, len(mods))
		}
		mr.Proposed = proposals[i]
		decide(&mr, base)
		if o := bases[i].other; o != nil && mr.OK {
			// Also compared with the release off the head's history:
			// when that needs more, it is the verdict.
			alt := Module{Repo: mr.Repo, Module: mr.Module, Dir: m.Dir, Head: head, HeadCommit: headCommit, Changes: []Change{},
				Base: o.version, BaseCommit: o.commit, Proposed: proposals[i]}
			if err := c.compare(&alt, m, o.commit, headCommit); err != nil {
				return nil, err
			}
			decide(&alt, o.version)
			if !alt.OK {
				alt.Notes = append([]string{o.note}, alt.Notes...)
				mr = alt
			}
		}
		if err := c.checkReleased(&mr); err != nil {
			return nil, err
		}
		report.Modules = append(report.Modules, mr)
	}
	return report, nil
}

// buildEnv starts the workspace module proxy and returns the environment
// of go commands that load packages.
func buildEnv(ctx context.Context, g *graph.Workspace, cacheDir string) ([]string, func(), error) {
	env, stop, err := ecosystems.GoEnv(ctx, g, cacheDir)
	if err != nil {
		return nil, nil, err
	}
	return append(env, "CGO_ENABLED=0"), stop, nil
}

// apiModule is a module (Go, or the repo's schemas) at the head.
type apiModule struct {
	scan.Module
	schemas []string // globs of JSON Schema files, relative to the repo root
	// headPath is the module's path at the head: its path at another
	// major version when the head moved it (example.com/m/v2).
	headPath string
}

// modulesAt lists the Go modules of the head tree, with the repo's declared
// JSON Schemas attached to the module whose directory holds them.
func modulesAt(tree string, known []scan.Module) ([]apiModule, error) {
	var mods []apiModule
	for _, m := range known {
		if m.Ecosystem != scan.Go {
			continue
		}
		if _, err := os.Stat(filepath.Join(tree, filepath.FromSlash(m.Dir), gomod.FileName)); err != nil {
			continue
		}
		mods = append(mods, apiModule{Module: m, headPath: gomod.PathAt(tree, m.Dir, m.Name)})
	}
	cfg, err := workspace.ReadRepoConfig(tree)
	if err != nil {
		return nil, err
	}
	for _, glob := range cfg.APISchemas {
		best := -1
		for i, m := range mods {
			if m.Dir == "." || strings.HasPrefix(glob, m.Dir+"/") {
				if best < 0 || len(m.Dir) > len(mods[best].Dir) {
					best = i
				}
			}
		}
		if best < 0 {
			mods = append(mods, apiModule{Module: scan.Module{Name: "jsonschema", Ecosystem: "jsonschema", Dir: "."}})
			best = len(mods) - 1
		}
		mods[best].schemas = append(mods[best].schemas, glob)
	}
	return mods, nil
}

// decide sets the required bump, the suggested version and checks the proposed one.
func decide(m *Module, base string) {
	required := None
	for _, c := range m.Changes {
		b := Minor
		if !c.Compatible {
			b = Major
		}
		if rank[b] > rank[required] {
			required = b
		}
	}
	if required == None && m.BaseCommit != m.HeadCommit {
		required = Patch
	}
	if m.BaseCommit == "" && required == None {
		required = Minor
	}
	major := "v0"
	if base != "" {
		major = modsemver.Major(base)
	}
	// Below v1, a breaking change needs only a minor bump.
	if major == "v0" && required == Major {
		required = Minor
		m.Notes = append(m.Notes, "below v1.0.0 a breaking change needs only a minor bump; consider releasing v1.0.0 once the API is stable")
	}
	m.Required = required
	m.Suggested = next(base, required)
	if required == Major && m.Suggested != "" {
		want := modsemver.Major(m.Suggested)
		if pathMajor(m.Module) != want && want != "v1" {
			m.Notes = append(m.Notes, fmt.Sprintf("a %s release must change the module path to %s/%s (or make the change compatible)", want, stripMajor(m.Module), want))
		}
	}
	m.OK = true
	if m.Proposed == "" {
		return
	}
	if base != "" && modsemver.Compare(m.Proposed, base) <= 0 {
		m.OK = false
		m.Notes = append(m.Notes, fmt.Sprintf("proposed %s is not above the base release %s", m.Proposed, base))
		return
	}
	got := bumpOf(base, m.Proposed)
	if rank[got] < rank[required] {
		m.OK = false
		m.Notes = append(m.Notes, fmt.Sprintf("proposed %s is a %s release but the changes need a %s release (%s)", m.Proposed, got, required, m.Suggested))
		return
	}
	if got == Major && pathMajor(m.Module) != modsemver.Major(m.Proposed) && modsemver.Major(m.Proposed) != "v1" && modsemver.Major(m.Proposed) != "v0" {
		m.OK = false
		m.Notes = append(m.Notes, fmt.Sprintf("proposed %s needs the module path %s/%s", m.Proposed, stripMajor(m.Module), modsemver.Major(m.Proposed)))
		return
	}
	if rank[got] > rank[required] {
		m.Notes = append(m.Notes, fmt.Sprintf("proposed %s is a %s release; a %s release (%s) would do", m.Proposed, got, required, m.Suggested))
	}
}

func pathMajor(mod string) string {
	i := strings.LastIndex(mod, "/v")
	if i < 0 {
		return "v1"
	}
	v := mod[i+1:]
	if modsemver.IsValid(v) && modsemver.Major(v) == v {
		return v
	}
	return "v1"
}

func stripMajor(mod string) string {
	if pathMajor(mod) != "v1" {
		return mod[:strings.LastIndex(mod, "/v")]
	}
	return mod
}

// bumpOf is the kind of release proposed is after base.
func bumpOf(base, proposed string) string {
	if base == "" {
		return Minor
	}
	b, p := parts(base), parts(proposed)
	switch {
	case p[0] != b[0]:
		return Major
	case p[1] != b[1]:
		return Minor
	case p[2] != b[2]:
		return Patch
	}
	return None
}

func parts(v string) [3]int {
	var out [3]int
	c := strings.TrimPrefix(modsemver.Canonical(v), "v")
	c = strings.SplitN(c, "-", 2)[0]
	fmt.Sscanf(c, "%d.%d.%d", &out[0], &out[1], &out[2])
	return out
}

// next is the version after base for a bump.
func next(base, bump string) string {
	if base == "" {
		return "v0.1.0"
	}
	p := parts(base)
	prerelease := modsemver.Prerelease(base) != ""
	switch bump {
	case Major:
		return fmt.Sprintf("v%d.0.0", p[0]+1)
	case Minor:
		return fmt.Sprintf("v%d.%d.0", p[0], p[1]+1)
	case Patch:
		if prerelease {
			return fmt.Sprintf("v%d.%d.%d", p[0], p[1], p[2])
		}
		return fmt.Sprintf("v%d.%d.%d", p[0], p[1], p[2]+1)
	}
	return base
}

// checker holds what one check shares.
type checker struct {
	with   []withModule
	ctx    context.Context
	repo   scan.Repo
	work   string
	env    []string
	trees  map[string]string
	labels map[string]string
	copies int // how many trees were extracted apart, to be changed
	// objects reads the repo's git objects; opened on first use.
	objects *gitrepo.Batch
}

func (c *checker) tree(commit string) (string, error) {
	if t, ok := c.trees[commit]; ok {
		return t, nil
	}
	// Stable paths (head, base, ...) let go's caches hit from run to run.
	label, ok := c.labels[commit]
	if !ok {
		label = fmt.Sprintf("base-%d", len(c.trees))
	}
	dst := filepath.Join(c.work, label)
	if err := c.repo.Git.Extract(c.ctx, commit, dst); err != nil {
		return "", err
	}
	c.trees[commit] = dst
	return dst, nil
}

func (c *checker) compare(m *Module, mod apiModule, baseCommit, headCommit string) error {
	headTree, err := c.tree(headCommit)
	if err != nil {
		return err
	}
	var baseTree string
	if baseCommit != "" {
		if baseTree, err = c.tree(baseCommit); err != nil {
			return err
		}
	}

	if mod.Ecosystem == scan.Go {
		changes, notes, err := c.goChanges(mod.Module, baseCommit, baseTree, headTree)
		if err != nil {
			return err
		}
		m.Changes = append(m.Changes, changes...)
		m.Notes = append(m.Notes, notes...)
	}
	if len(mod.schemas) == 0 {
		return nil
	}
	b, err := c.batch()
	if err != nil {
		return err
	}
	for _, glob := range mod.schemas {
		changes, err := schemaChanges(c.ctx, b, glob, baseCommit, headCommit)
		if err != nil {
			return err
		}
		m.Changes = append(m.Changes, changes...)
	}
	return nil
}

func (c *checker) close() {
	if c.objects != nil {
		c.objects.Close()
	}
}

// batch is the object reader of the checked repo, opened on first use.
func (c *checker) batch() (*gitrepo.Batch, error) {
	if c.objects == nil {
		b, err := c.repo.Git.OpenBatch(c.ctx)
		if err != nil {
			return nil, err
		}
		c.objects = b
	}
	return c.objects, nil
}

// schemaChanges compares the schema files a glob matches at the base and
// head commits (no base: the module is new). The files come from git's
// objects: the glob matches within the tree only, symbolic links are
// refused, never followed, and each file is read only up to
// gitrepo.MaxManifest bytes.
// schemaBudget is the time the schema checks of one repo may take in all.
var schemaBudget = schemadiff.DefaultTimeout

func schemaChanges(ctx context.Context, b *gitrepo.Batch, glob, baseCommit, headCommit string) ([]Change, error) {
	files := map[string]bool{}
	for _, commit := range []string{baseCommit, headCommit} {
		if commit == "" {
			continue
		}
		ms, err := b.Glob(commit, glob)
		if err != nil {
			return nil, fmt.Errorf("%s: api.jsonschema %q: %w", workspace.RepoConfigFile, glob, err)
		}
		for _, m := range ms {
			files[m] = true
		}
	}
	names := make([]string, 0, len(files))
	for f := range files {
		names = append(names, f)
	}
	sort.Strings(names)
	var out []Change
	// One time limit (schemaBudget) for all the schemas of a repo, not one per schema
	// file: a glob matching many files must not multiply it.
	deadline := time.Now().Add(schemaBudget)
	for _, f := range names {
		read := func(commit string) (*schemadiff.Schema, bool, error) {
			if commit == "" {
				return nil, false, nil
			}
			data, err := b.ReadFile(commit, f, gitrepo.MaxManifest)
			if errors.Is(err, gitrepo.ErrMissing) {
				return nil, false, nil
			}
			if err != nil {
				return nil, false, fmt.Errorf("%s: %w", f, err)
			}
			s, err := schemadiff.LoadContext(ctx, f, data)
			return s, true, err
		}
		old, hadOld, oerr := read(baseCommit)
		new, hasNew, nerr := read(headCommit)
		if err := errors.Join(oerr, nerr); err != nil {
			// A schema too deep to compile is not compared: undecided.
			for _, e := range []error{oerr, nerr} {
				if _, ok := schemadiff.NotCompared(e); e != nil && !ok {
					return nil, e
				}
			}
			r, _ := schemadiff.NotCompared(err)
			for _, x := range r.Unknown {
				out = append(out, Change{Kind: JSONSchema, Package: f, Message: x.Message + " (undecided: counted as breaking until reviewed)", Compatible: false})
			}
			continue
		}
		switch {
		case !hadOld && hasNew:
			out = append(out, Change{Kind: JSONSchema, Package: f, Message: "schema added", Compatible: true})
		case hadOld && !hasNew:
			out = append(out, Change{Kind: JSONSchema, Package: f, Message: "schema removed", Compatible: false})
		case hadOld && hasNew:
			// Bounded and interruptible: what the budget leaves
			// undecided is in r.Unknown, counted as breaking.
			left := time.Until(deadline)
			if left <= 0 {
				out = append(out, Change{Kind: JSONSchema, Package: f, Compatible: false,
					Message: fmt.Sprintf("not compared: the schema checks reached their time limit of %s (undecided: counted as breaking until reviewed)", schemaBudget)})
				continue
			}
			r, err := schemadiff.CompareContext(ctx, old, new, schemadiff.Options{Timeout: left})
			if err != nil {
				return nil, err
			}
			for _, x := range r.Tightened {
				out = append(out, Change{Kind: JSONSchema, Package: f, Message: path.Clean("/"+x.Path) + ": " + x.Message + " (tightened)", Compatible: false, Witness: x.Witness})
			}
			for _, x := range r.Loosened {
				out = append(out, Change{Kind: JSONSchema, Package: f, Message: path.Clean("/"+x.Path) + ": " + x.Message + " (loosened)", Compatible: true, Witness: x.Witness})
			}
			for _, x := range r.Unknown {
				// What cannot be decided is not assumed compatible.
				out = append(out, Change{Kind: JSONSchema, Package: f, Message: path.Clean("/"+x.Path) + ": " + x.Message + " (undecided: counted as breaking until reviewed)", Compatible: false})
			}
		}
	}
	return out, nil
}
