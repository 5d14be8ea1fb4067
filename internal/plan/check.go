package plan

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/semver"
	"github.com/cascade-dev/cascade/internal/verify"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// CheckOptions are the inputs of a plan check besides the plan.
type CheckOptions struct {
	At       time.Time
	CacheDir string
	// BenchRuns is how many runs of a repo's benchmark command each side
	// gets first (default: the fewest that can reach significance, 4);
	// BenchMaxRuns is the cap the performance gate adds runs up to while
	// its answer is borderline (default 20). BenchThreshold is the
	// slowdown that fails the gate (default 0.10).
	BenchRuns, BenchMaxRuns int
	BenchThreshold          float64
	// Timeout bounds each build, test or benchmark command.
	Timeout time.Duration
	// NoCache measures the benchmarks again instead of reusing the samples
	// an earlier check took of the same trees (they are still stored).
	NoCache bool
	// Progress, if set, hears about every gate as it starts (done false)
	// and ends (done true, with its result); Verify hears about the
	// downstream gate's verification.
	Progress func(gate Gate, done bool)
	Verify   func(verify.Progress)
}

// Check runs every gate of the plan.
func Check(ctx context.Context, ws *workspace.Workspace, g *graph.Workspace, p *Plan, opt CheckOptions) ([]Gate, error) {
	if opt.Timeout <= 0 {
		opt.Timeout = 10 * time.Minute
	}
	var gates []Gate
	run := func(name string, gate func() (Gate, error)) error {
		if opt.Progress != nil {
			opt.Progress(Gate{Name: name}, false)
		}
		g, err := gate()
		if err != nil {
			return err
		}
		if opt.Progress != nil {
			opt.Progress(g, true)
		}
		gates = append(gates, g)
		return nil
	}
	now := func(g Gate) func() (Gate, error) { return func() (Gate, error) { return g, nil } }
	steps := []struct {
		name string
		gate func() (Gate, error)
	}{
		{"window", now(WindowGate(ws.Policy, opt.At))},
		{"freeze", now(FreezeGate(ws.Policy, opt.At))},
		{"manager", now(ManagerGate(p))},
		{"scope", func() (Gate, error) { return ScopeGate(ctx, g, p) }},
		{"semver", func() (Gate, error) { return semverGate(ctx, g, p, opt) }},
		{"downstream", func() (Gate, error) { return downstreamGate(ctx, g, p, opt) }},
		{"performance", func() (Gate, error) { return perfGate(ctx, g, p, opt) }},
	}
	for _, s := range steps {
		if err := run(s.name, s.gate); err != nil {
			return nil, err
		}
	}
	return gates, nil
}

// Failed reports whether any gate failed.
func Failed(gates []Gate) bool {
	for _, g := range gates {
		if g.Status == Fail {
			return true
		}
	}
	return false
}

func semverGate(ctx context.Context, g *graph.Workspace, p *Plan, opt CheckOptions) (Gate, error) {
	gate := Gate{Name: "semver", Status: Pass}
	var under, missing []string
	for _, c := range p.Changes {
		if c.Version == "" {
			missing = append(missing, c.Repo)
			continue
		}
		// Each repo is built with the rest of the change set in place.
		var with []string
		for _, o := range p.Changes {
			if o.Repo != c.Repo {
				with = append(with, o.Repo+"@"+o.Head)
			}
		}
		rep, err := semver.Check(ctx, g, semver.Options{Repo: c.Repo, Head: c.Head, Proposed: c.Version, CacheDir: opt.CacheDir, With: with})
		if err != nil {
			if ctx.Err() != nil {
				return gate, err
			}
			gate.Details = append(gate.Details, fmt.Sprintf("%s: %v", c.Repo, err))
			under = append(under, c.Repo)
			continue
		}
		for _, m := range rep.Modules {
			line := fmt.Sprintf("%s %s: needs a %s release (%s); proposed %s", c.Repo, m.Module, m.Required, m.Suggested, c.Version)
			if !m.OK {
				under = append(under, c.Repo)
				if len(m.Notes) > 0 {
					line += ": " + m.Notes[len(m.Notes)-1]
				}
				for _, ch := range m.Changes {
					if !ch.Compatible {
						line += "; for example " + ch.Message
						break
					}
				}
			}
			gate.Details = append(gate.Details, line)
		}
	}
	switch {
	case len(under) > 0:
		gate.Status, gate.Reason = Fail, "proposed versions do not match the changes: "+strings.Join(under, ", ")
	case len(missing) > 0:
		gate.Status, gate.Reason = Warn, "no version proposed for "+strings.Join(missing, ", ")+" (plan new --version REPO=VERSION)"
	default:
		gate.Reason = "every proposed version matches its changes"
	}
	return gate, nil
}

func downstreamGate(ctx context.Context, g *graph.Workspace, p *Plan, opt CheckOptions) (Gate, error) {
	gate := Gate{Name: "downstream", Status: Pass}
	order, err := p.ReleaseOrder(g)
	if err != nil {
		return gate, err
	}
	var flat []string
	for _, grp := range order {
		flat = append(flat, grp...)
	}
	if len(flat) == 0 {
		flat = p.Repos()
	}
	head := map[string]string{}
	for _, c := range p.Changes {
		head[c.Repo] = c.Head
	}
	vo := verify.Options{Upstream: flat[0] + "@" + head[flat[0]], CacheDir: opt.CacheDir, Retries: 2, Timeout: opt.Timeout, Progress: opt.Verify}
	for _, r := range flat[1:] {
		vo.With = append(vo.With, r+"@"+head[r])
	}
	rep, err := verify.Verify(ctx, g, vo)
	if err != nil {
		return gate, err
	}
	gate.Details = append(gate.Details, "verify: "+rep.Conclusion)
	status, reason := verify.Assess(rep).Gate()
	switch status {
	case verify.GateFail:
		gate.Status, gate.Reason = Fail, reason
	case verify.GateWarn:
		gate.Status, gate.Reason = Warn, reason
	default:
		gate.Reason = fmt.Sprintf("%s, no regression", plural.Count(len(rep.Results), "downstream verdict"))
	}
	return gate, nil
}

type withModule struct {
	repo, path, dir string
}

// replaceOthers points every go.mod under tree at the other repos' heads.
func replaceOthers(tree, self string, with []withModule) error {
	return filepath.WalkDir(tree, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "go.mod" {
			return err
		}
		// The head's tree is the repo's: its go.mod files are read and
		// written without leaving it or blocking (sandbox.ReadTreeFile).
		rel, err := filepath.Rel(tree, p)
		if err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
		data, err := sandbox.ReadTreeFile(tree, rel, 0)
		if err != nil {
			return errkind.New(errkind.Invalid, "%s: %v", rel, err)
		}
		f, err := modfile.Parse(p, data, nil)
		if err != nil {
			return nil // a module that does not parse fails its benchmark, reported there
		}
		for _, w := range with {
			if w.repo != self {
				if err := f.AddReplace(w.path, "", w.dir, ""); err != nil {
					return errkind.Wrap(errkind.Infra, err)
				}
			}
		}
		out, err := f.Format()
		if err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
		return sandbox.WriteTreeFile(tree, rel, out)
	})
}

// Affected lists the repos upstream and downstream of the change set,
// outside it.
func Affected(g *graph.Workspace, repos []string) (up, down []string) {
	in := map[string]bool{}
	for _, r := range repos {
		in[r] = true
	}
	ups, downs := map[string]bool{}, map[string]bool{}
	for _, r := range repos {
		i, err := g.Lookup(r)
		if err != nil {
			continue
		}
		for _, x := range g.Upstream(i, false).Items {
			if n := g.Name(x.Node); !in[n] {
				ups[n] = true
			}
		}
		for _, x := range g.Downstream(i, false).Items {
			if n := g.Name(x.Node); !in[n] {
				downs[n] = true
			}
		}
	}
	for n := range ups {
		up = append(up, n)
	}
	for n := range downs {
		down = append(down, n)
	}
	sort.Strings(up)
	sort.Strings(down)
	return up, down
}
