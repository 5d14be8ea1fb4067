// Package plan is cascade's release plans: a YAML file per plan under
// plans/ beside cascade.yaml, reviewed like code, naming one release
// manager, the change set with its frozen scope (base and head commits),
// the proposed versions and what cascade computed (the release order and
// the gates' last results). It also holds the gates that need no other
// package: release windows, freezes, the manager and the scope.
package plan

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/workspace"
	"github.com/cascade-dev/cascade/internal/yamlfile"
)

// Dir is the plans directory's name, beside cascade.yaml.
const Dir = "plans"

// Plan is one release plan.
type Plan struct {
	ID      string    `yaml:"id" json:"id"`
	Title   string    `yaml:"title" json:"title"`
	Spec    string    `yaml:"spec,omitempty" json:"spec,omitempty"`
	Manager string    `yaml:"manager" json:"manager"`
	Created time.Time `yaml:"created" json:"created,omitzero"`
	Notes   string    `yaml:"notes,omitempty" json:"notes,omitempty"`
	Changes []Change  `yaml:"changes" json:"changes"`
	// Rescoped records every re-freeze of the scope.
	Rescoped []Rescope `yaml:"rescoped,omitempty" json:"rescoped,omitempty"`
	// Overrides are failed gates the release manager let pass.
	Overrides []GateOverride `yaml:"overrides,omitempty" json:"overrides,omitempty"`
	Computed  Computed       `yaml:"computed" json:"computed"`
	// Audit is the head of the plan's audit log, written after every
	// release action.
	Audit *AuditHead `yaml:"audit,omitempty" json:"audit,omitempty"`

	file  string
	lines map[string]int
}

// Change is one repo of the change set with its frozen scope.
type Change struct {
	Repo string `yaml:"repo" json:"repo"`
	Ref  string `yaml:"ref" json:"ref"`
	// Base is where the change leaves the default branch; Head the frozen
	// head. The scope is every commit in base..head.
	Base    string `yaml:"base" json:"base"`
	Head    string `yaml:"head" json:"head"`
	Version string `yaml:"version,omitempty" json:"version,omitempty"`
}

// Rescope is a re-freeze of the scope.
type Rescope struct {
	By     string    `yaml:"by" json:"by"`
	At     time.Time `yaml:"at" json:"at"`
	Reason string    `yaml:"reason,omitempty" json:"reason,omitempty"`
	// Unverified is set by a reader that found no signed re-freeze of it
	// in the audit log (never written to the plan file).
	Unverified bool `yaml:"-" json:"unverified,omitempty"`
}

// Computed is what cascade worked out; the file keeps it for reviewers.
type Computed struct {
	// Order is the release order: groups that ship together, upstream first.
	Order      [][]string `yaml:"order" json:"order"`
	Upstream   []string   `yaml:"upstream,omitempty" json:"upstream,omitempty"`
	Downstream []string   `yaml:"downstream,omitempty" json:"downstream,omitempty"`
	Gates      []Gate     `yaml:"gates,omitempty" json:"gates"`
	// CheckedAt is when the gates were last checked; nil (null in JSON)
	// for a plan never checked.
	CheckedAt *time.Time `yaml:"checked_at,omitempty" json:"checked_at"`
	// Heads is the frozen scope (HeadsKey) the gates were checked for.
	Heads string `yaml:"heads,omitempty" json:"heads,omitempty"`

	// State and Failing sum up the recorded gates for a reader (JSON
	// only, filled in when the plan is written as JSON; see GateState).
	State   string   `yaml:"-" json:"state"`
	Failing []string `yaml:"-" json:"failing"`
	// Stale is set when the recorded gates were checked for another
	// frozen scope than the plan's current one (JSON only).
	Stale bool `yaml:"-" json:"stale"`
}

// Gate statuses.
const (
	Pass = "pass"
	Fail = "fail"
	Warn = "warn"
	// Stale is the status, in what cascade prints, of a recorded gate
	// result that was checked for another frozen scope than the plan's
	// current one: it says nothing about what would ship now.
	Stale = "stale"
)

// Gate is one check's result.
type Gate struct {
	Name    string   `yaml:"name" json:"name"`
	Status  string   `yaml:"status" json:"status"`
	Reason  string   `yaml:"reason" json:"reason"`
	Details []string `yaml:"details,omitempty" json:"details"`
	// Recorded is, for a stale gate (Status "stale" in JSON), the status
	// it had when it was checked for an earlier scope.
	Recorded string `yaml:"-" json:"recorded_status,omitempty"`
}

var validID = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// ValidID reports whether id can name a plan (and its file).
func ValidID(id string) error {
	if !validID.MatchString(id) || len(id) > 64 {
		return errkind.New(errkind.Invalid, "invalid plan id %q; use lower-case letters, digits, '.', '_' and '-'", id)
	}
	return nil
}

// File is the path of plan id in the workspace.
func File(ws *workspace.Workspace, id string) string {
	return filepath.Join(ws.Dir, Dir, id+".yaml")
}

// Load reads plan id.
func Load(ws *workspace.Workspace, id string) (*Plan, error) {
	if err := ValidID(id); err != nil {
		return nil, err
	}
	file := File(ws, id)
	data, err := os.ReadFile(file)
	if os.IsNotExist(err) {
		return nil, errkind.New(errkind.NotFound, "no plan %q (%s); `cascade plan list` shows the plans, `cascade plan new %s --title TEXT --manager PERSON --change REPO@REF` makes it", id, file, id)
	}
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	return Parse(file, data)
}

// Parse reads a plan file's content, checking it as strictly as a
// cascade.yaml: every problem names the file and line, and all of them
// are reported at once (a yamlfile.Problems list).
func Parse(file string, data []byte) (*Plan, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, workspace.SyntaxError(file, err)
	}
	var probs yamlfile.Problems
	probs.Add(yamlfile.CheckKeys(file, &doc))
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		probs.Add(errkind.New(errkind.Invalid, "%s: a plan is a mapping with id, title, manager and changes", file))
		return nil, probs.Err()
	}
	root := doc.Content[0]
	lines := map[string]int{}
	known := []string{"id", "title", "spec", "manager", "created", "notes", "changes", "rescoped", "overrides", "computed", "audit"}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k := root.Content[i]
		if !slices.Contains(known, k.Value) && k.Value != "managers" {
			probs.Add(errkind.New(errkind.Invalid, "%s:%d: %s", file, k.Line, workspace.UnknownKey(k.Value, "the plan", known)))
			continue
		}
		v := root.Content[i+1]
		lines[k.Value] = k.Line
		switch k.Value {
		case "id":
			if want := strings.TrimSuffix(filepath.Base(file), ".yaml"); v.Value != want && ValidID(v.Value) == nil {
				probs.Add(errkind.New(errkind.Invalid, "%s:%d: the plan's id %q is not its file name %q: a plan's id and file name must match; rename the file or fix the id", file, v.Line, v.Value, want))
				continue
			}
		case "managers":
			probs.Add(errkind.New(errkind.Invalid, "%s:%d: a plan has exactly one release manager: write `manager: NAME`", file, k.Line))
			continue
		case "manager":
			if v.Kind == yaml.SequenceNode {
				if len(v.Content) != 1 {
					probs.Add(errkind.New(errkind.Invalid, "%s:%d: a plan has exactly one release manager, not %d: keep one", file, v.Line, len(v.Content)))
					continue
				}
			}
		case "changes":
			if v.Kind != yaml.SequenceNode {
				probs.Add(errkind.New(errkind.Invalid, "%s:%d: `changes:` is a list of {repo, ref, base, head, version}", file, v.Line))
				continue
			}
			for ci, c := range v.Content {
				if c.Kind != yaml.MappingNode {
					probs.Add(errkind.New(errkind.Invalid, "%s:%d: each change is a mapping with repo, ref, base, head and version", file, c.Line))
					continue
				}
				lines[fmt.Sprintf("changes[%d]", ci)] = c.Line
				for j := 0; j+1 < len(c.Content); j += 2 {
					lines[fmt.Sprintf("changes[%d].%s", ci, c.Content[j].Value)] = c.Content[j].Line
					switch c.Content[j].Value {
					case "version":
						if v := c.Content[j+1].Value; v != "" {
							if err := ValidVersion(v, false); err != nil {
								probs.Add(errkind.New(errkind.Invalid, "%s:%d: %v", file, c.Content[j+1].Line, err))
								continue
							}
						}
					case "repo", "ref", "base", "head":
					default:
						probs.Add(errkind.New(errkind.Invalid, "%s:%d: %s", file, c.Content[j].Line, workspace.UnknownKey(c.Content[j].Value, "a change", []string{"repo", "ref", "base", "head", "version"})))
						continue
					}
				}
			}
		}
	}
	// A one-element manager list is accepted as that manager (a longer
	// one is a problem above, not decoded again).
	if v := value(root, "manager"); v != nil && v.Kind == yaml.SequenceNode {
		if len(v.Content) == 1 {
			*v = *v.Content[0]
		} else {
			*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Line: v.Line, Column: v.Column}
		}
	}
	var p Plan
	if err := root.Decode(&p); err != nil {
		// A key given twice is already a problem (CheckKeys).
		for _, e := range yamlfile.Split(workspace.SyntaxError(file, err)) {
			if !strings.Contains(e.Error(), "already defined at line") {
				probs.Add(e)
			}
		}
	}
	if err := probs.Err(); err != nil {
		return nil, err
	}
	p.file, p.lines = file, lines
	// Every problem at once, each with its line; a refused value with
	// the line and column of the value itself.
	lined := false
	for _, pr := range p.problems() {
		if ve := (*valueError)(nil); errors.As(pr.err, &ve) {
			if !lined {
				if errs := checkValueNodes(file, value(root, "changes")); len(errs) > 0 {
					lined = true
					probs = append(probs, errs...)
					continue
				}
			} else {
				continue
			}
		}
		probs.Add(errkind.New(errkind.Invalid, "%s: %v", p.Where(pr.key), pr.err))
	}
	if err := probs.Err(); err != nil {
		return nil, err
	}
	return &p, nil
}

func value(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// Validate checks what every plan must have, reporting every problem at
// once.
func (p *Plan) Validate() error {
	var probs yamlfile.Problems
	for _, pr := range p.problems() {
		probs.Add(pr.err)
	}
	return probs.Err()
}

// problem is one thing wrong with a plan, and the key it is at (for
// Where).
type problem struct {
	key string
	err error
}

// problems lists what is wrong with the plan, in the order of its file.
func (p *Plan) problems() []problem {
	var out []problem
	if err := ValidID(p.ID); err != nil {
		out = append(out, problem{"id", err})
	}
	if strings.TrimSpace(p.Manager) == "" {
		out = append(out, problem{"manager", fmt.Errorf("the plan names no release manager; add `manager: NAME` (exactly one)")})
	}
	if len(p.Changes) == 0 {
		out = append(out, problem{"changes", fmt.Errorf("the plan has no changes; list them under `changes:`")})
	}
	seen := map[string]bool{}
	for i, c := range p.Changes {
		key := fmt.Sprintf("changes[%d]", i)
		if c.Repo == "" || c.Head == "" {
			out = append(out, problem{key, fmt.Errorf("a change needs repo and head")})
			continue
		}
		if seen[c.Repo] {
			out = append(out, problem{key + ".repo", fmt.Errorf("repo %s is in the plan twice; keep one change per repo", c.Repo)})
		}
		seen[c.Repo] = true
		if err := c.checkValues(); err != nil {
			out = append(out, problem{key, err})
		}
	}
	return out
}

// Save writes the plan atomically.
func (p *Plan) Save(ws *workspace.Workspace) error {
	file := File(ws, p.ID)
	if h := DiskAuditHead(file); h != nil {
		p.Audit = h
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Release plan %s, written by cascade. Review it like code.\n", p.ID)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	if err := workspace.WriteFile(file, b.Bytes(), 0o644); err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	p.file = file
	return nil
}

// List reads every plan of the workspace, sorted by id.
func List(ws *workspace.Workspace) ([]*Plan, error) {
	files, err := filepath.Glob(filepath.Join(ws.Dir, Dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []*Plan
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		p, err := Parse(f, data)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Repos lists the plan's repos.
func (p *Plan) Repos() []string {
	var out []string
	for _, c := range p.Changes {
		out = append(out, c.Repo)
	}
	return out
}
