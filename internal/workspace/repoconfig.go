package workspace

import (
	"errors"
	"io/fs"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/yamlfile"
)

// RepoConfigFile is the name of a repo's own configuration, at its root.
const RepoConfigFile = ".cascade.yaml"

// RepoConfig is a repo's .cascade.yaml: how to build, test, benchmark and
// release it, and the JSON Schemas that are its API. Empty commands mean
// the ecosystem's defaults.
type RepoConfig struct {
	Build string
	Test  string
	// TestReport is a report file the test command writes (TAP, JUnit
	// XML or a runner's JSON), relative to the repo root: how cascade
	// names tests for a runner it cannot ask to report them.
	TestReport string
	Bench      string
	// APISchemas are globs of JSON Schema files, relative to the repo root.
	APISchemas []string
	// Release is the raw `release:` block, validated by the runbook reader.
	Release *yaml.Node
	File    string
}

// ParseRepoConfig reads a .cascade.yaml; file names it in errors.
func ParseRepoConfig(file string, data []byte) (*RepoConfig, error) {
	c := &RepoConfig{File: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	if err := yamlfile.CheckKeys(file, &doc); err != nil {
		return nil, err
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return c, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, inputErr(file, root, "expected a mapping with build, test, test_report, bench, api and release")
	}
	if err := checkKeys(file, root, "the top level", "build", "test", "test_report", "bench", "api", "release"); err != nil {
		return nil, err
	}
	for key, dst := range map[string]*string{"build": &c.Build, "test": &c.Test, "test_report": &c.TestReport, "bench": &c.Bench} {
		if v := value(root, key); v != nil {
			s, err := scalar(file, v, key)
			if err != nil {
				return nil, err
			}
			*dst = s
		}
	}
	if v := value(root, "test_report"); v != nil && !filepath.IsLocal(filepath.FromSlash(c.TestReport)) {
		return nil, inputErr(file, v, "`test_report:` must be a path inside the repo, relative to its root, such as reports/junit.xml")
	}
	if api := value(root, "api"); api != nil {
		if api.Kind != yaml.MappingNode {
			return nil, inputErr(file, api, "`api:` must be a mapping such as `jsonschema: [schemas/*.json]`")
		}
		if err := checkKeys(file, api, "api", "jsonschema"); err != nil {
			return nil, err
		}
		if js := value(api, "jsonschema"); js != nil {
			switch js.Kind {
			case yaml.ScalarNode:
				if err := gitrepo.CheckGlob(js.Value); err != nil {
					return nil, inputErr(file, js, "`api.jsonschema:` globs match files inside the repo, relative to its root, such as schemas/*.json: %v", err)
				}
				c.APISchemas = []string{js.Value}
			case yaml.SequenceNode:
				for _, g := range js.Content {
					s, err := scalar(file, g, "api.jsonschema entries")
					if err != nil {
						return nil, err
					}
					if err := gitrepo.CheckGlob(s); err != nil {
						return nil, inputErr(file, g, "`api.jsonschema:` globs match files inside the repo, relative to its root, such as schemas/*.json: %v", err)
					}
					c.APISchemas = append(c.APISchemas, s)
				}
			default:
				return nil, inputErr(file, js, "`api.jsonschema:` must be a list of globs")
			}
		}
	}
	c.Release = value(root, "release")
	return c, nil
}

// ReadRepoConfig reads the .cascade.yaml at the root of an extracted tree;
// a tree without one gets the empty config (the ecosystem's defaults). A
// .cascade.yaml that is a symbolic link (it could point anywhere) or larger
// than gitrepo.MaxManifest is bad input, never followed or read whole.
func ReadRepoConfig(tree string) (*RepoConfig, error) {
	data, err := gitrepo.ReadTreeFile(tree, RepoConfigFile, gitrepo.MaxManifest)
	if errors.Is(err, fs.ErrNotExist) {
		return &RepoConfig{}, nil
	}
	if err != nil {
		return nil, err
	}
	return ParseRepoConfig(RepoConfigFile, data)
}
