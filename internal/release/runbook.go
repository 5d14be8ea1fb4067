// Package release executes a plan's runbooks one step at a time: it runs
// what can be automated, asks a person to do and confirm what cannot,
// never skips a step without a recorded override, and resumes exactly where
// it stopped after a crash. State lives in SQLite; every change is one
// transaction and one entry of a hash-chained audit log.
package release

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/errkind"
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
	Text       string        `json:"text,omitempty"`
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

// DefaultRunbook is the runbook of a repo that declares none.
func DefaultRunbook() []Spec {
	return []Spec{
		{Name: "Gates (window, freeze, scope)", Kind: Gate},
		{Name: "Tag {{.Version}}", Kind: Tag},
		{Name: "Deploy {{.Repo}} {{.Version}}", Kind: Manual, Text: "Deploy {{.Repo}} {{.Version}} and confirm when it is healthy."},
		{Name: "Downstream still green", Kind: Verify, Text: "downstream"},
	}
}

// ParseRunbook reads release.steps of a .cascade.yaml; file names it in
// errors. Nil steps means the file declares no runbook.
func ParseRunbook(file string, data []byte) ([]Spec, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, errkind.New(errkind.Invalid, "%s: %v (fix the YAML syntax)", file, strings.TrimPrefix(err.Error(), "yaml: "))
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
			case "retry":
				var r struct {
					Attempts int    `yaml:"attempts"`
					Every    string `yaml:"every"`
				}
				if err := v.Decode(&r); err != nil {
					return nil, bad(v, "retry must be {attempts: N, every: DURATION}")
				}
				s.Attempts = r.Attempts
				if r.Every != "" {
					d, err := time.ParseDuration(r.Every)
					if err != nil {
						return nil, bad(v, "retry.every %q is not a duration such as 30s", r.Every)
					}
					s.Every = d
				}
			case "timeout":
				d, err := time.ParseDuration(v.Value)
				if err != nil {
					return nil, bad(v, "timeout %q is not a duration such as 5m", v.Value)
				}
				s.Timeout = d
			case "inputs":
				if err := v.Decode(&s.Inputs); err != nil {
					return nil, bad(v, "inputs must be a list of names")
				}
			case "idempotent":
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
		if prev, ok := seen[s.Name]; ok {
			return nil, bad(n, "two steps are named %q (lines %d and %d); names must be unique", s.Name, prev, n.Line)
		}
		seen[s.Name] = n.Line
		if err := checkTemplates(s); err != nil {
			return nil, bad(n, "step %q: %v", s.Name, err)
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

// checkTemplates executes the step's templates on sample data, so that an
// unknown field fails before anything runs.
func checkTemplates(s Spec) error {
	inputs := map[string]string{}
	for _, in := range s.Inputs {
		inputs[in] = "x"
	}
	for _, text := range []string{s.Name, s.Text} {
		if _, err := render(text, Data{Inputs: inputs}, true); err != nil {
			return err
		}
	}
	return nil
}

// render fills a step's template. With strict, a missing input is an
// error; otherwise it renders as "<no value>" until the input is given.
func render(text string, d Data, strict bool) (string, error) {
	t := template.New("step")
	if strict {
		t = t.Option("missingkey=zero")
	}
	t, err := t.Parse(text)
	if err != nil {
		return "", fmt.Errorf("invalid template: %v", err)
	}
	if d.Inputs == nil {
		d.Inputs = map[string]string{}
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		msg := err.Error()
		if i := strings.LastIndex(msg, ": "); i >= 0 {
			msg = msg[i+2:]
		}
		return "", fmt.Errorf("unknown template field (%s); use {{.Repo}}, {{.Version}}, {{.Plan}}, {{.Ref}}, {{.Commit}} or {{.Inputs.NAME}}", msg)
	}
	return b.String(), nil
}
