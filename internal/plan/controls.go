package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/runbook"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// GateNames are the gates of a plan, in the order they are checked.
var GateNames = []string{"window", "freeze", "manager", "scope", "semver", "downstream", "performance"}

// GateOverride is a failed gate the release manager let pass, with why.
// It holds only for the frozen scope it was given for (Heads).
type GateOverride struct {
	Gate   string    `yaml:"gate" json:"gate"`
	By     string    `yaml:"by" json:"by"`
	At     time.Time `yaml:"at" json:"at"`
	Reason string    `yaml:"reason" json:"reason"`
	Heads  string    `yaml:"heads" json:"heads"`
}

// Overridden is the status of a failed gate the manager overrode.
const Overridden = "overridden"

// semverRE is a full semantic version (2.0.0), with an optional "v".
var semverRE = regexp.MustCompile(`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`)

// ValidVersion checks a proposed version: a full semantic version such as
// v2.0.0 (MAJOR.MINOR.PATCH), "v"-prefixed when goRepo (the go command
// only knows v-prefixed tags).
func ValidVersion(v string, goRepo bool) error {
	if !semverRE.MatchString(v) {
		return fmt.Errorf("version %q is not a semantic version; write MAJOR.MINOR.PATCH such as v2.0.0", v)
	}
	if goRepo && !strings.HasPrefix(v, "v") {
		return fmt.Errorf("version %q of a Go module needs a \"v\" prefix: write v%s", v, v)
	}
	if len(v) > 128 {
		return fmt.Errorf("version %q is %d bytes long; the limit is 128", v[:32]+"...", len(v))
	}
	if err := gitrepo.CheckRefName("refs/tags/" + v); err != nil {
		return fmt.Errorf("version %q cannot be a tag: %w", v, err)
	}
	return nil
}

// IsGoRepo reports whether the repo holds a Go module.
func IsGoRepo(g *graph.Workspace, repo string) bool {
	i, err := g.Lookup(repo)
	if err != nil {
		return false
	}
	for _, m := range g.Repos[i].Modules {
		if m.Ecosystem == scan.Go {
			return true
		}
	}
	return false
}

// CheckVersions checks every proposed version of the plan against its
// repo's ecosystem.
func (p *Plan) CheckVersions(g *graph.Workspace) error {
	for _, c := range p.Changes {
		if c.Version == "" {
			continue
		}
		if err := ValidVersion(c.Version, IsGoRepo(g, c.Repo)); err != nil {
			return errkind.New(errkind.Invalid, "%s: %s: %v", p.Where("version"), c.Repo, err)
		}
	}
	return nil
}

// where names the plan file (and, when known, the line of key) for errors.
func (p *Plan) Where(key string) string {
	if p.file == "" {
		return "plan " + p.ID
	}
	if l := p.lines[key]; l > 0 {
		return fmt.Sprintf("%s:%d", p.file, l)
	}
	return p.file
}

// HeadsKey identifies the plan's frozen scope: the repos with their
// frozen bases, heads and proposed versions, as the full SHA-256 (64 hex
// digits) of one line per change. Cached gate results and gate overrides
// hold only while it is unchanged; an override signed for one scope must
// not be collidable with another's.
func (p *Plan) HeadsKey() string {
	var parts []string
	for _, c := range p.Changes {
		parts = append(parts, c.Repo+"@"+c.Base+".."+c.Head+"="+c.Version)
	}
	slices.Sort(parts)
	sum := sha256.Sum256([]byte("cascade scope v2\n" + strings.Join(parts, "\n")))
	return hex.EncodeToString(sum[:])
}

// OverrideFor is the manager's override of a gate for the current scope
// among overrides (the release engine passes those of the audit log's
// signed override-gate entries; the plan file's list is for review only).
func (p *Plan) OverrideFor(gate string, overrides []GateOverride) *GateOverride {
	key := p.HeadsKey()
	for i := len(overrides) - 1; i >= 0; i-- {
		if o := &overrides[i]; o.Gate == gate && o.Heads == key {
			return o
		}
	}
	return nil
}

// ApplyOverrides marks each failed gate overridden for the current scope
// among overrides as overridden, naming who and why. A failed gate
// overridden only for an earlier scope stays failed, and a detail says
// that override is stale.
func (p *Plan) ApplyOverrides(gates []Gate, overrides []GateOverride) []Gate {
	key := p.HeadsKey()
	for i := range gates {
		if gates[i].Status != Fail {
			continue
		}
		if o := p.OverrideFor(gates[i].Name, overrides); o != nil {
			gates[i].Details = append([]string{"failed: " + gates[i].Reason}, gates[i].Details...)
			gates[i].Status = Overridden
			gates[i].Reason = fmt.Sprintf("overridden by %s at %s: %s", o.By, o.At.UTC().Format(time.RFC3339), o.Reason)
			continue
		}
		for j := len(overrides) - 1; j >= 0; j-- {
			if o := overrides[j]; o.Gate == gates[i].Name {
				gates[i].Details = append(gates[i].Details, fmt.Sprintf("stale override: %s overrode this gate at %s for an earlier scope (%.12s; the plan was re-frozen since), so it does not apply to the scope frozen now (%.12s)", o.By, o.At.UTC().Format(time.RFC3339), o.Heads, key))
				break
			}
		}
	}
	return gates
}

// StartGates runs every gate of the plan before a release starts, as
// `plan check` does: nothing is taken from the plan file, which anyone can
// edit. The performance gate reuses benchmark samples from cascade's cache
// directory and verify its own cached results, so this stays cheap.
// overrides are applied.
func StartGates(ctx context.Context, ws *workspace.Workspace, g *graph.Workspace, p *Plan, opt CheckOptions, overrides []GateOverride) ([]Gate, error) {
	gates, err := Check(ctx, ws, g, p, opt)
	if err != nil {
		return nil, err
	}
	return p.ApplyOverrides(gates, Covering(ws.Policy, overrides, opt.At)), nil
}

// Covering drops from overrides the window and freeze overrides that do
// not cover time at: a freeze override covers the freeze in force when it
// was given, while that freeze lasts; a window override covers the closed
// hours it was given in, until the next window opens. So an override of
// today's freeze does not waive next month's, and a late-evening release
// let through does not make every later night a release window. The
// other gates' overrides hold for the frozen scope (see OverrideFor).
func Covering(pol workspace.Policy, overrides []GateOverride, at time.Time) []GateOverride {
	var out []GateOverride
	for _, o := range overrides {
		switch o.Gate {
		case "freeze":
			given, ok1 := frozen(pol, o.At)
			now, ok2 := frozen(pol, at)
			if !ok1 || !ok2 || !given.From.Equal(now.From) || !given.To.Equal(now.To) {
				continue
			}
		case "window":
			if _, in := inWindow(pol, o.At); in {
				continue // given while a window was open: it waived nothing
			}
			// The closed hours end when a window opens, frozen or not.
			given, ok1 := nextWindow(pol, o.At, false)
			now, ok2 := nextWindow(pol, at, false)
			if ok1 != ok2 || !given.Equal(now) || at.Before(o.At) {
				continue
			}
		}
		out = append(out, o)
	}
	return out
}

// TimeAndScopeGates are the gates re-checked before every step that
// changes the world: the window, the freeze and the scope, with overrides
// applied.
func TimeAndScopeGates(ctx context.Context, ws *workspace.Workspace, g *graph.Workspace, p *Plan, at time.Time, overrides []GateOverride) ([]Gate, error) {
	scope, err := ScopeGate(ctx, g, p)
	if err != nil {
		return nil, err
	}
	return p.ApplyOverrides([]Gate{WindowGate(ws.Policy, at), FreezeGate(ws.Policy, at), scope}, Covering(ws.Policy, overrides, at)), nil
}

// Runbooks reads and validates the runbook of every repo of the plan at its
// frozen head: a bad runbook (an unknown template field, an input no
// earlier step declares) is bad input with file:line.
func (p *Plan) Runbooks(ctx context.Context, g *graph.Workspace) (map[string][]runbook.Spec, error) {
	out := map[string][]runbook.Spec{}
	for _, c := range p.Changes {
		i, err := g.Lookup(c.Repo)
		if err != nil {
			return nil, err
		}
		specs, err := runbook.Load(ctx, g.Repos[i].Git, c.Repo, c.Ref, c.Head)
		if err != nil {
			return nil, err
		}
		out[c.Repo] = specs
	}
	return out, nil
}
