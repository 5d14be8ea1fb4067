// Package runbook is cascade's one runbook model: the steps that release a
// repo, read from release.steps of its .cascade.yaml (or the default
// runbook), validated and rendered. `plan show`, `plan check`, `plan new`
// and `release` all use it, so they agree on every step and its name.
//
// Step templates may only name fields: {{.Repo}}, {{.Version}}, {{.Plan}},
// {{.Ref}}, {{.Commit}} and {{.Inputs.NAME}} for an input an earlier step
// declares. In run and check commands every value is quoted as one shell
// word, and the same values reach the command as environment variables
// (CASCADE_REPO, CASCADE_VERSION, …, CASCADE_INPUT_NAME).
package runbook

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/workspace"
	"github.com/cascade-dev/cascade/internal/yamlfile"
)

// Step kinds.
const (
	Run    = "run"
	Manual = "manual"
	Check  = "check"
	Verify = "verify"
	Gate   = "gate"
	Wait   = "wait"
	Tag    = "tag"
)

var kinds = []string{Run, Manual, Check, Verify, Gate, Wait, Tag}

// Spec is one step of a runbook, as written.
type Spec struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	// Text is the command (run, check), the instruction (manual) or the
	// argument (verify: downstream).
	Text string `json:"text,omitempty"`
	// Argv is a run or check command given as a list: run without a shell.
	Argv       []string      `json:"argv,omitempty"`
	Attempts   int           `json:"attempts,omitempty"`
	Every      time.Duration `json:"every,omitempty"`
	Timeout    time.Duration `json:"timeout,omitempty"`
	Inputs     []string      `json:"inputs,omitempty"`
	Idempotent bool          `json:"idempotent,omitempty"`
	// Network gives a run or check step the network (it is sandboxed
	// offline otherwise); Env names the variables of cascade's
	// environment it gets (none otherwise).
	Network bool     `json:"network,omitempty"`
	Env     []string `json:"env,omitempty"`
	Line    int      `json:"line,omitempty"`
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Data is what step templates see.
type Data struct {
	Repo, Version, Plan, Ref, Commit string
	Inputs                           map[string]string
}

// Default is the runbook of a repo that declares none.
func Default() []Spec {
	return []Spec{
		{Name: "Gates (window, freeze, scope)", Kind: Gate},
		{Name: "Tag {{.Version}}", Kind: Tag},
		{Name: "Deploy {{.Repo}} {{.Version}}", Kind: Manual, Text: "Deploy {{.Repo}} {{.Version}} and confirm when it is healthy."},
		{Name: "Downstream still green", Kind: Verify, Text: "downstream"},
	}
}

// Load reads the runbook of repo at commit head (ref names it in errors):
// release.steps of its .cascade.yaml, or the default runbook.
func Load(ctx context.Context, git *gitrepo.Repo, repo, ref, head string) ([]Spec, error) {
	data, err := git.ReadFile(ctx, head, workspace.RepoConfigFile)
	if errkind.Of(err) == errkind.NotFound {
		return Default(), nil
	}
	if err != nil {
		return nil, err
	}
	specs, err := Parse(repo+"@"+ref+":"+workspace.RepoConfigFile, data)
	if err != nil {
		return nil, err
	}
	if specs == nil {
		return Default(), nil
	}
	return specs, nil
}

var inputName = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// Parse reads release.steps of a .cascade.yaml; file names it in
// errors. Nil steps means the file declares no runbook.
func Parse(file string, data []byte) ([]Spec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, errkind.New(errkind.Invalid, "%s: %v (fix the YAML syntax)", file, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	if err := yamlfile.CheckKeys(file, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	rel := value(doc.Content[0], "release")
	if rel == nil {
		return nil, nil
	}
	bad := func(n *yaml.Node, format string, args ...any) error {
		return errkind.New(errkind.Invalid, "%s:%d: %s", file, n.Line, fmt.Sprintf(format, args...))
	}
	if rel.Kind != yaml.MappingNode {
		return nil, bad(rel, "`release:` must be a mapping with `steps:`")
	}
	for i := 0; i+1 < len(rel.Content); i += 2 {
		if rel.Content[i].Value != "steps" {
			return nil, bad(rel.Content[i], "unknown key %q in release; known keys: steps", rel.Content[i].Value)
		}
	}
	steps := value(rel, "steps")
	if steps == nil || steps.Kind != yaml.SequenceNode {
		return nil, bad(rel, "`release.steps:` must be a list of steps")
	}
	var out []Spec
	seen := map[string]int{}
	declared := map[string]bool{}
	for _, n := range steps.Content {
		if n.Kind != yaml.MappingNode {
			return nil, bad(n, "a step is a mapping with name and one of %s", strings.Join(kinds, ", "))
		}
		s := Spec{Line: n.Line}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch k.Value {
			case "name":
				s.Name = v.Value
			case Run, Manual, Check, Verify, Gate, Wait, Tag:
				if s.Kind != "" {
					return nil, bad(k, "step %q has two kinds (%s and %s); give it one", s.Name, s.Kind, k.Value)
				}
				s.Kind, s.Text = k.Value, v.Value
				if v.Kind == yaml.SequenceNode {
					if k.Value != Run && k.Value != Check {
						return nil, bad(v, "only run and check take a list (a command and its arguments)")
					}
					if err := v.Decode(&s.Argv); err != nil || len(s.Argv) == 0 {
						return nil, bad(v, "%s: a command as a list is a non-empty list of strings", k.Value)
					}
					s.Text = ""
				} else if v.Kind != yaml.ScalarNode {
					return nil, bad(v, "%s takes a string (or, for run and check, a list)", k.Value)
				}
				// The steps cascade runs itself take one value each: any
				// other would read as if it changed what the step does.
				switch k.Value {
				case Gate, Wait, Tag:
					if v.Value != "true" {
						return nil, bad(v, "%s takes true (the step %ss); to leave it out, remove the step", k.Value, map[string]string{Gate: "checks the gate", Wait: "wait", Tag: "tag"}[k.Value])
					}
				case Verify:
					if v.Value != "downstream" {
						return nil, bad(v, "verify takes downstream (the step verifies every downstream against the release), not %q", v.Value)
					}
				}
			case "retry":
				var r struct {
					Attempts int    `yaml:"attempts"`
					Every    string `yaml:"every"`
				}
				if v.Kind != yaml.MappingNode {
					return nil, bad(v, "retry must be {attempts: N, every: DURATION}")
				}
				for j := 0; j+1 < len(v.Content); j += 2 {
					if rk := v.Content[j]; rk.Value != "attempts" && rk.Value != "every" {
						return nil, bad(rk, "unknown key %q in retry; known keys: attempts, every", rk.Value)
					}
				}
				if err := v.Decode(&r); err != nil {
					return nil, bad(v, "retry must be {attempts: N, every: DURATION}")
				}
				if value(v, "attempts") != nil && r.Attempts < 1 {
					return nil, bad(v, "retry.attempts is %d; give 1 or more (the attempts in all)", r.Attempts)
				}
				s.Attempts = r.Attempts
				if r.Every != "" {
					d, err := time.ParseDuration(r.Every)
					if err != nil || d < 0 {
						return nil, bad(v, "retry.every %q is not a duration such as 30s", r.Every)
					}
					s.Every = d
				}
			case "timeout":
				d, err := time.ParseDuration(v.Value)
				if err != nil || d <= 0 {
					return nil, bad(v, "timeout %q is not a positive duration such as 5m", v.Value)
				}
				s.Timeout = d
			case "inputs":
				if err := v.Decode(&s.Inputs); err != nil {
					return nil, bad(v, "inputs must be a list of names")
				}
				for _, in := range s.Inputs {
					if !inputName.MatchString(in) {
						return nil, bad(v, "input name %q: use lower-case letters, digits and _, starting with a letter", in)
					}
				}
			case "idempotent":
				if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
					return nil, bad(v, "idempotent must be true or false")
				}
				s.Idempotent = v.Value == "true"
			case "network":
				if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
					return nil, bad(v, "network must be true or false")
				}
				s.Network = v.Value == "true"
			case "env":
				if err := v.Decode(&s.Env); err != nil {
					return nil, bad(v, "env must be a list of variable names such as [DEPLOY_TOKEN]")
				}
				for _, name := range s.Env {
					if !envName.MatchString(name) {
						return nil, bad(v, "env: %q is not a variable name (letters, digits and _, not starting with a digit)", name)
					}
				}
			default:
				return nil, bad(k, "unknown key %q in a step; known keys: name, %s, retry, timeout, inputs, idempotent, network, env", k.Value, strings.Join(kinds, ", "))
			}
		}
		if strings.TrimSpace(s.Name) == "" {
			return nil, bad(n, "a step needs a name")
		}
		if s.Kind == "" {
			return nil, bad(n, "step %q needs one of %s", s.Name, strings.Join(kinds, ", "))
		}
		// Keys that mean something only for some kinds of step: a user
		// would believe a tag is retried, or a run step gets inputs.
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			switch {
			case (k.Value == "retry" || k.Value == "timeout" || k.Value == "network" || k.Value == "env") && s.Kind != Run && s.Kind != Check:
				return nil, bad(k, "step %q: %s applies only to run and check steps, not to a %s step", s.Name, k.Value, s.Kind)
			case k.Value == "inputs" && s.Kind != Manual:
				return nil, bad(k, "step %q: inputs are asked for by a manual step, not a %s step", s.Name, s.Kind)
			case k.Value == "idempotent" && s.Kind != Run && s.Kind != Check && s.Kind != Verify && s.Kind != Tag:
				return nil, bad(k, "step %q: idempotent applies to steps that run (run, check, verify, tag), not to a %s step", s.Name, s.Kind)
			}
		}
		if prev, ok := seen[s.Name]; ok {
			return nil, bad(n, "two steps are named %q (lines %d and %d); names must be unique", s.Name, prev, n.Line)
		}
		seen[s.Name] = n.Line
		if err := checkTemplates(s, declared); err != nil {
			return nil, bad(n, "step %q: %v", s.Name, err)
		}
		for _, in := range s.Inputs {
			declared[in] = true
		}
		out = append(out, s)
	}
	return out, nil
}

func value(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// checkTemplates checks every template of the step: only field access,
// only known fields, only inputs an earlier step declares.
func checkTemplates(s Spec, declared map[string]bool) error {
	for _, text := range append([]string{s.Name, s.Text}, s.Argv...) {
		if _, err := compile(text, declared); err != nil {
			return err
		}
	}
	if (s.Kind == Run || s.Kind == Check) && len(s.Argv) == 0 {
		return checkShellPlacement(s.Text)
	}
	return checkArgvPlacement(s.Argv)
}

// checkArgvPlacement refuses a template in an argument of a command given
// as a list that the command reads as code (sh -c's script, eval's
// arguments, ...): the value would run as code though no shell parses
// the list.
func checkArgvPlacement(argv []string) error {
	dynamic := make([]bool, len(argv))
	for i, a := range argv {
		pieces, err := compile(a, nil)
		if err != nil {
			return err
		}
		for _, p := range pieces {
			if p.field == nil {
				continue
			}
			if why := codeArgument(argv, dynamic, i); why != "" {
				name := "{{." + strings.Join(p.field, ".") + "}}"
				return fmt.Errorf("%s is %s: pass the value through its environment variable (\"$CASCADE_...\" inside the code) or as an argument after the code (sh -c 'deploy \"$1\"' sh %s)", name, why, name)
			}
		}
	}
	return nil
}
