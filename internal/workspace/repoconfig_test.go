package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// TestRepoConfigGlobsStayInTheRepo: an api.jsonschema glob that climbs out
// of the repo or is absolute is bad input naming the file and line.
func TestRepoConfigGlobsStayInTheRepo(t *testing.T) {
	for data, want := range map[string]string{
		"api:\n  jsonschema:\n    - schemas/*.json\n    - ../../etc/*\n": `.cascade.yaml:4:7: ` + "`api.jsonschema:`" + ` globs match files inside the repo, relative to its root, such as schemas/*.json: invalid path "../../etc/*": it leaves the repository`,
		"api:\n  jsonschema: /etc/passwd\n":                              `.cascade.yaml:2:15: ` + "`api.jsonschema:`" + ` globs match files inside the repo, relative to its root, such as schemas/*.json: invalid path "/etc/passwd": it is absolute`,
		"api:\n  jsonschema: [\"schemas/[\"]\n":                          `invalid glob "schemas/[": syntax error in pattern`,
	} {
		_, err := ParseRepoConfig(".cascade.yaml", []byte(data))
		if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseRepoConfig(%q) = %v; want %q", data, err, want)
		}
	}
	if c, err := ParseRepoConfig(".cascade.yaml", []byte("api:\n  jsonschema: [schemas/*.json, api/v1/*/schema.json]\n")); err != nil || len(c.APISchemas) != 2 {
		t.Errorf("ordinary globs: %+v, %v", c, err)
	}
}

// TestReadRepoConfigRefusesLinks: a .cascade.yaml that is a symbolic link
// in an extracted tree is never followed.
func TestReadRepoConfigRefusesLinks(t *testing.T) {
	tree := t.TempDir()
	outside := filepath.Join(t.TempDir(), "x.yaml")
	if err := os.WriteFile(outside, []byte("build: SECRET\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(tree, RepoConfigFile)); err != nil {
		t.Fatal(err)
	}
	c, err := ReadRepoConfig(tree)
	if err == nil || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), ".cascade.yaml is a symbolic link") {
		t.Fatalf("ReadRepoConfig(link) = %+v, %v; want a refusal", c, err)
	}
}
