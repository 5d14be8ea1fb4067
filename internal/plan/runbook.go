package plan

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultRunbook is the outline of the runbook of a repo without one.
func DefaultRunbook(version string) []string {
	if version == "" {
		version = "the version"
	}
	return []string{"Gates (window, freeze, scope)", "Tag " + version, "Deploy and confirm", "Verify downstream"}
}

// StepNames reads the step names of a .cascade.yaml's release.steps, with
// {{.Repo}} and {{.Version}} filled in; nil if there are none.
func StepNames(data []byte, repo, version string) []string {
	var doc struct {
		Release struct {
			Steps []struct {
				Name string `yaml:"name"`
			} `yaml:"steps"`
		} `yaml:"release"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return nil
	}
	if version == "" {
		version = "(version)"
	}
	r := strings.NewReplacer("{{.Repo}}", repo, "{{.Version}}", version, "{{ .Repo }}", repo, "{{ .Version }}", version)
	var out []string
	for _, s := range doc.Release.Steps {
		out = append(out, r.Replace(s.Name))
	}
	return out
}
