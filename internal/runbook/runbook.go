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

// stepKeys are the keys a step may hold.
var stepKeys = append(append([]string{"name"}, kinds...), "retry", "timeout", "inputs", "idempotent", "network", "env")

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
// errors. Nil steps means the file declares no runbook. It reports every
// problem of the runbook at once (a yamlfile.Problems list).
func Parse(file string, data []byte) ([]Spec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, workspace.SyntaxError(file, err)
	}
	var probs yamlfile.Problems
	probs.Add(yamlfile.CheckKeys(file, &doc))
	if len(doc.Content) == 0 {
		return nil, probs.Err()
	}
	rel := value(doc.Content[0], "release")
	if rel == nil {
		return nil, probs.Err()
	}
	bad := func(n *yaml.Node, format string, args ...any) error {
		return errkind.New(errkind.Invalid, "%s:%d: %s", file, n.Line, fmt.Sprintf(format, args...))
	}
	if rel.Kind != yaml.MappingNode {
		probs.Add(bad(rel, "`release:` must be a mapping with `steps:`"))
		return nil, probs.Err()
	}
	for i := 0; i+1 < len(rel.Content); i += 2 {
		if rel.Content[i].Value != "steps" {
			probs.Add(bad(rel.Content[i], "%s", workspace.UnknownKey(rel.Content[i].Value, "release", []string{"steps"})))
		}
	}
	steps := value(rel, "steps")
	if steps == nil || steps.Kind != yaml.SequenceNode {
		probs.Add(bad(rel, "`release.steps:` must be a list of steps"))
		return nil, probs.Err()
	}
	var out []Spec
	seen := map[string]int{}
	declared := map[string]bool{}
	for _, n := range steps.Content {
		if n.Kind != yaml.MappingNode {
			probs.Add(bad(n, "a step is a mapping with name and one of %s", strings.Join(kinds, ", ")))
			continue
		}
		s := Spec{Line: n.Line}
		broken := false
	keys:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			switch k.Value {
			case "name":
				s.Name = v.Value
			case Run, Manual, Check, Verify, Gate, Wait, Tag:
				if s.Kind != "" {
					probs.Add(bad(k, "step %q has two kinds (%s and %s); give it one", s.Name, s.Kind, k.Value))
					broken = true
					continue keys
				}
				s.Kind, s.Text = k.Value, v.Value
				if v.Kind == yaml.SequenceNode {
					if k.Value != Run && k.Value != Check {
						probs.Add(bad(v, "only run and check take a list (a command and its arguments)"))
						broken = true
						continue keys
					}
					if err := v.Decode(&s.Argv); err != nil || len(s.Argv) == 0 {
						probs.Add(bad(v, "%s: a command as a list is a non-empty list of strings", k.Value))
						broken = true
						continue keys
					}
					s.Text = ""
				} else if v.Kind != yaml.ScalarNode {
					probs.Add(bad(v, "%s takes a string (or, for run and check, a list)", k.Value))
					broken = true
					continue keys
				}
				// The steps cascade runs itself take one value each: any
				// other would read as if it changed what the step does.
				switch k.Value {
				case Gate, Wait, Tag:
					if v.Value != "true" {
						probs.Add(bad(v, "%s takes true (the step %ss); to leave it out, remove the step", k.Value, map[string]string{Gate: "checks the gate", Wait: "wait", Tag: "tag"}[k.Value]))
						broken = true
						continue keys
					}
				case Verify:
					if v.Value != "downstream" {
						probs.Add(bad(v, "verify takes downstream (the step verifies every downstream against the release), not %q", v.Value))
						broken = true
						continue keys
					}
				}
			case "retry":
				var r struct {
					Attempts int    `yaml:"attempts"`
					Every    string `yaml:"every"`
				}
				if v.Kind != yaml.MappingNode {
					probs.Add(bad(v, "retry must be {attempts: N, every: DURATION}"))
					broken = true
					continue keys
				}
				for j := 0; j+1 < len(v.Content); j += 2 {
					if rk := v.Content[j]; rk.Value != "attempts" && rk.Value != "every" {
						probs.Add(bad(rk, "%s", workspace.UnknownKey(rk.Value, "retry", []string{"attempts", "every"})))
						broken = true
						continue keys
					}
				}
				if err := v.Decode(&r); err != nil {
					probs.Add(bad(v, "retry must be {attempts: N, every: DURATION}"))
					broken = true
					continue keys
				}
				if value(v, "attempts") != nil && r.Attempts < 1 {
					probs.Add(bad(v, "retry.attempts is %d; give 1 or more (the attempts in all)", r.Attempts))
					broken = true
					continue keys
				}
				s.Attempts = r.Attempts
				if r.Every != "" {
					d, err := time.ParseDuration(r.Every)
					if err != nil || d < 0 {
						probs.Add(bad(v, "retry.every %q is not a duration such as 30s", r.Every))
						broken = true
						continue keys
					}
					s.Every = d
				}
			case "timeout":
				d, err := time.ParseDuration(v.Value)
				if err != nil || d <= 0 {
					probs.Add(bad(v, "timeout %q is not a positive duration such as 5m", v.Value))
					broken = true
					continue keys
				}
				s.Timeout = d
			case "inputs":
				if err := v.Decode(&s.Inputs); err != nil {
					probs.Add(bad(v, "inputs must be a list of names"))
					broken = true
					continue keys
				}
				for _, in := range s.Inputs {
					if !inputName.MatchString(in) {
						probs.Add(bad(v, "input name %q: use lower-case letters, digits and _, starting with a letter", in))
						broken = true
						continue keys
					}
				}
			case "idempotent":
				if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
					probs.Add(bad(v, "idempotent must be true or false"))
					broken = true
					continue keys
				}
				s.Idempotent = v.Value == "true"
			case "network":
				if v.Kind != yaml.ScalarNode || (v.Value != "true" && v.Value != "false") {
					probs.Add(bad(v, "network must be true or false"))
					broken = true
					continue keys
				}
				s.Network = v.Value == "true"
			case "env":
				if err := v.Decode(&s.Env); err != nil {
					probs.Add(bad(v, "env must be a list of variable names such as [DEPLOY_TOKEN]"))
					broken = true
					continue keys
				}
				for _, name := range s.Env {
					if !envName.MatchString(name) {
						probs.Add(bad(v, "env: %q is not a variable name (letters, digits and _, not starting with a digit)", name))
						broken = true
						continue keys
					}
				}
			default:
				probs.Add(bad(k, "%s", workspace.UnknownKey(k.Value, "a step", stepKeys)))
				broken = true
				continue keys
			}
		}
		switch {
		case strings.TrimSpace(s.Name) == "":
			probs.Add(bad(n, "a step needs a name"))
			broken = true
		case s.Kind == "" && !broken:
			// (after a problem with a key, most likely the kind's, the
			// key's problem is the one to fix)
			probs.Add(bad(n, "step %q needs one of %s", s.Name, strings.Join(kinds, ", ")))
			broken = true
		}
		// Keys that mean something only for some kinds of step: a user
		// would believe a tag is retried, or a run step gets inputs.
		for i := 0; i+1 < len(n.Content) && s.Kind != ""; i += 2 {
			k := n.Content[i]
			switch {
			case (k.Value == "retry" || k.Value == "timeout" || k.Value == "network" || k.Value == "env") && s.Kind != Run && s.Kind != Check:
				probs.Add(bad(k, "step %q: %s applies only to run and check steps, not to a %s step", s.Name, k.Value, s.Kind))
				broken = true
			case k.Value == "inputs" && s.Kind != Manual:
				probs.Add(bad(k, "step %q: inputs are asked for by a manual step, not a %s step", s.Name, s.Kind))
				broken = true
			case k.Value == "idempotent" && s.Kind != Run && s.Kind != Check && s.Kind != Verify && s.Kind != Tag:
				probs.Add(bad(k, "step %q: idempotent applies to steps that run (run, check, verify, tag), not to a %s step", s.Name, s.Kind))
				broken = true
			}
		}
		if prev, ok := seen[s.Name]; ok && s.Name != "" {
			probs.Add(bad(n, "two steps are named %q (lines %d and %d); names must be unique", s.Name, prev, n.Line))
			broken = true
		} else {
			seen[s.Name] = n.Line
		}
		if !broken {
			if err := checkTemplates(s, declared); err != nil {
				probs.Add(bad(n, "step %q: %v", s.Name, err))
				broken = true
			}
		}
		// The inputs of a step with a problem are still known to the
		// later steps: its problem is not also reported at every use.
		for _, in := range s.Inputs {
			declared[in] = true
		}
		if !broken {
			out = append(out, s)
		}
	}
	return out, probs.Err()
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
