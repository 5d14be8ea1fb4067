package yamlfile

import (
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/internal/errkind"
)

func TestCheckKeys(t *testing.T) {
	for data, want := range map[string]string{
		"repos: []\npolicy: {}\nrepos: [x]\n":                          `f.yaml:3:1: duplicate key "repos" (first at f.yaml:1); keep one of them`,
		"repos:\n  - path: a\n    name: x\n    path: b\n":              `f.yaml:4:5: duplicate key "path" (first at f.yaml:2)`,
		"policy:\n  windows:\n    - {days: [mon], from: a, from: b}\n": `f.yaml:3:30: duplicate key "from" (first at f.yaml:3)`,
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(data), &doc); err != nil {
			t.Fatal(err)
		}
		err := CheckKeys("f.yaml", &doc)
		var de *DuplicateKeyError
		if err == nil || !errors.As(err, &de) || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckKeys(%q) = %v; want %q", data, err, want)
		}
	}
	for _, data := range []string{
		"a: 1\nb: {a: 2}\nc: [{a: 1}, {a: 2}]\n",
		"base: &b {x: 1}\nuse: {<<: *b, y: 2}\nother: *b\n",
		"",
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(data), &doc); err != nil {
			t.Fatal(err)
		}
		if err := CheckKeys("f.yaml", &doc); err != nil {
			t.Errorf("CheckKeys(%q) = %v; want nil", data, err)
		}
	}
}

// TestCheckKeysAll: every key given twice is a problem, not only the first.
func TestCheckKeysAll(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: 1\na: 2\nb:\n  c: 1\n  c: 2\n"), &doc); err != nil {
		t.Fatal(err)
	}
	err := CheckKeys("f.yaml", &doc)
	probs := Split(err)
	if len(probs) != 2 || errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "f.yaml:2:1:") || !strings.Contains(err.Error(), "f.yaml:5:3:") {
		t.Errorf("CheckKeys = %v (%d problems); want two, at lines 2 and 5", err, len(probs))
	}
}
