package verify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/cascade-dev/cascade/internal/ecosystem"
	"github.com/cascade-dev/cascade/internal/ecosystems"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/trace"
)

// engine holds what the jobs of one verification share.
type engine struct {
	opt     Options
	g       *graph.Workspace
	members []Member
	work    string
	cache   *resultCache

	ecos   map[string]ecosystem.Ecosystem
	ecoSet *ecosystems.Set
	// proxyHash is the digest of every workspace repo's tags.
	proxyHash string

	mu sync.Mutex
	// Values computed once for every job, by key.
	trees, tags, merged, changed, tools, imports map[string]*once
	problems                                     []string
}

// once computes a value the first time it is asked for, for every job.
type once struct {
	sync.Once
	v   any
	err error
}

func (e *engine) setup(ctx context.Context) error {
	h := sha256.New()
	for _, r := range e.g.Repos {
		if r.Git == nil {
			continue
		}
		state, err := r.Git.TagsState(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %s\n", r.Name, state)
	}
	e.proxyHash = hex.EncodeToString(h.Sum(nil))[:16]
	set, err := ecosystems.Start(ctx, e.g, e.opt.CacheDir, e.work)
	if err != nil {
		return err
	}
	e.ecoSet, e.ecos = set, set.ByName
	return nil
}

func (e *engine) close() {
	if e.ecoSet != nil {
		e.ecoSet.Close()
	}
}

// eco returns the ecosystem of a module, or an error naming it.
func (e *engine) eco(m scan.Module) (ecosystem.Ecosystem, error) {
	if x, ok := e.ecos[m.Ecosystem]; ok {
		return x, nil
	}
	return nil, errkind.New(errkind.Infra, "cascade cannot build %s modules (%s)", m.Ecosystem, m.Name)
}

// toolchain is the version of an ecosystem's tools, asked once.
func (e *engine) toolchain(ctx context.Context, x ecosystem.Ecosystem) (string, error) {
	o := e.onceOf(e.tools, x.Name())
	o.Do(func() { o.v, o.err = x.Toolchain(ctx) })
	v, _ := o.v.(string)
	return v, o.err
}

func (e *engine) onceOf(m map[string]*once, key string) *once {
	e.mu.Lock()
	defer e.mu.Unlock()
	if m[key] == nil {
		m[key] = &once{}
	}
	return m[key]
}

// run runs a sandboxed command with the verification's time limit. It
// may read the run's work dir (the upstream trees put in place) and
// write only where its ecosystem says (its own tree).
func (e *engine) run(ctx context.Context, c sandbox.Cmd) (sandbox.Result, error) {
	c.Timeout = e.opt.Timeout
	c.ReadOnly = append(c.ReadOnly, e.work)
	trace.Shell(ctx, c.Dir, c.Args, c.Shell)
	return sandbox.Run(ctx, c)
}

// member returns the change set's member for a repo, if any.
func (e *engine) member(node int) (Member, bool) {
	for _, m := range e.members {
		if m.node == node {
			return m, true
		}
	}
	return Member{}, false
}

// injected are the members in place in a state, other than the downstream itself.
func (e *engine) injected(state string, node int) []Member {
	ms := e.members[:1]
	if state == Set {
		ms = e.members
	}
	var out []Member
	for _, m := range ms {
		if m.node != node {
			out = append(out, m)
		}
	}
	return out
}

// sharedTree extracts a repo at a commit once, for every job to read (and
// never write: builds run in fresh trees).
func (e *engine) sharedTree(ctx context.Context, node int, commit string) (string, error) {
	key := fmt.Sprintf("%d:%s", node, commit)
	o := e.onceOf(e.trees, key)
	o.Do(func() {
		dst := filepath.Join(e.work, "trees", e.g.Repos[node].Name+"-"+commit[:12])
		sandbox.RemoveAll(dst)
		o.v, o.err = dst, e.g.Repos[node].Git.Extract(ctx, commit, dst)
	})
	dir, _ := o.v.(string)
	return dir, o.err
}

// lazyTree is a shared tree as a file system, extracted on first use.
type lazyTree struct {
	e      *engine
	ctx    context.Context
	node   int
	commit string
}

func (t lazyTree) Open(name string) (fs.File, error) {
	dir, err := t.e.sharedTree(t.ctx, t.node, t.commit)
	if err != nil {
		return nil, err
	}
	return os.DirFS(dir).Open(name)
}

// freshTree extracts the repo at commit into the work dir, at a path that
// depends only on label (a repo and a state), so that it is the same from
// one run to the next (build caches key on paths).
func (e *engine) freshTree(ctx context.Context, node int, commit, label string) (string, error) {
	dst := filepath.Join(e.work, label)
	sandbox.RemoveAll(dst)
	if err := e.g.Repos[node].Git.Extract(ctx, commit, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// repoTags are every tag of a repo and its commit, read once.
func (e *engine) repoTags(ctx context.Context, node int) (map[string]string, []string, error) {
	o := e.onceOf(e.tags, fmt.Sprint(node))
	o.Do(func() { o.v, o.err = e.g.Repos[node].Git.Tags(ctx) })
	tags, _ := o.v.(map[string]string)
	names := make([]string, 0, len(tags))
	for t := range tags {
		names = append(names, t)
	}
	sort.Strings(names)
	return tags, names, o.err
}

// mergedTags lists the tags reachable from a commit, once.
func (e *engine) mergedTags(ctx context.Context, node int, commit string) ([]string, error) {
	o := e.onceOf(e.merged, fmt.Sprintf("%d:%s", node, commit))
	o.Do(func() { o.v, o.err = e.g.Repos[node].Git.MergedTags(ctx, commit) })
	tags, _ := o.v.([]string)
	return tags, o.err
}

// copyDir copies a directory (a user's uncommitted work, or cascade's
// snapshot of it) into the work dir (sandbox.CopyTree).
func (e *engine) copyDir(src, label string) (string, error) {
	dst := filepath.Join(e.work, label)
	sandbox.RemoveAll(dst)
	if err := sandbox.CopyTree(src, dst); err != nil {
		return "", errkind.Wrap(errkind.Infra, fmt.Errorf("copying %s: %w", src, err))
	}
	return dst, nil
}

// snapshot copies every local-directory member once and identifies it by
// the copy's content: jobs build the copy, so what they build is what was
// hashed.
func (e *engine) snapshot() error {
	for i := range e.members {
		m := &e.members[i]
		if m.Dir == "" {
			continue
		}
		dir, err := e.copyDir(m.Dir, filepath.Join("local", m.Repo))
		if err != nil {
			return err
		}
		digest, err := hashDir(dir)
		if err != nil {
			return errkind.Wrap(errkind.Infra, fmt.Errorf("reading %s: %w", dir, err))
		}
		m.snapshot, m.Digest = dir, "dir:"+digest
	}
	return nil
}
