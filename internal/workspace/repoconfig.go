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

// ParseRepoConfig reads a .cascade.yaml; file names it in errors. It
// reports every problem of the file at once (a yamlfile.Problems list).
// The runbook under `release:` is checked by the runbook reader.
func ParseRepoConfig(file string, data []byte) (*RepoConfig, error) {
	c := &RepoConfig{File: file}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlError(file, err)
	}
	var probs yamlfile.Problems
	probs.Add(yamlfile.CheckKeys(file, &doc))
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return c, probs.Err()
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, inputErr(file, root, "expected a mapping with build, test, test_report, bench, api and release")
	}
	probs.Add(checkKeys(file, root, "the top level", "build", "test", "test_report", "bench", "api", "release"))
	for _, key := range []string{"build", "test", "test_report", "bench"} {
		dst := map[string]*string{"build": &c.Build, "test": &c.Test, "test_report": &c.TestReport, "bench": &c.Bench}[key]
		if v := value(root, key); v != nil {
			s, err := scalar(file, v, key)
			probs.Add(err)
			*dst = s
		}
	}
	if v := value(root, "test_report"); v != nil && v.Kind == yaml.ScalarNode && !filepath.IsLocal(filepath.FromSlash(c.TestReport)) {
		probs.Add(inputErr(file, v, "`test_report:` must be a path inside the repo, relative to its root, such as reports/junit.xml"))
	}
	if api := value(root, "api"); api != nil {
		probs.Add(c.parseAPI(file, api))
	}
	c.Release = value(root, "release")
	if err := probs.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// parseAPI reads the `api:` block.
func (c *RepoConfig) parseAPI(file string, api *yaml.Node) error {
	if api.Kind != yaml.MappingNode {
		return inputErr(file, api, "`api:` must be a mapping such as `jsonschema: [schemas/*.json]`")
	}
	var probs yamlfile.Problems
	probs.Add(checkKeys(file, api, "api", "jsonschema"))
	js := value(api, "jsonschema")
	if js == nil {
		return probs.Err()
	}
	switch js.Kind {
	case yaml.ScalarNode:
		if err := gitrepo.CheckGlob(js.Value); err != nil {
			probs.Add(inputErr(file, js, "`api.jsonschema:` globs match files inside the repo, relative to its root, such as schemas/*.json: %v", err))
		} else {
			c.APISchemas = []string{js.Value}
		}
	case yaml.SequenceNode:
		for _, g := range js.Content {
			s, err := scalar(file, g, "api.jsonschema entries")
			if err != nil {
				probs.Add(err)
				continue
			}
			if err := gitrepo.CheckGlob(s); err != nil {
				probs.Add(inputErr(file, g, "`api.jsonschema:` globs match files inside the repo, relative to its root, such as schemas/*.json: %v", err))
				continue
			}
			c.APISchemas = append(c.APISchemas, s)
		}
	default:
		probs.Add(inputErr(file, js, "`api.jsonschema:` must be a list of globs"))
	}
	return probs.Err()
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
