package workspace

import (
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// FuzzParse: any cascade.yaml is read or refused with an Invalid error
// that names the file; a file read once reads the same again.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"repos:\n  - path: ./a\n",
		"repos:\n  - url: https://example.com/x.git\n    name: x\n    branch: main\n    tier: critical\ndiscover: [\"./repos/*\"]\n",
		"people:\n  - name: alice\n    emails: [a@example.com]\n    keys: [\"ssh-ed25519 AAAA a\"]\npolicy:\n  timezone: UTC\n  windows:\n    - days: [mon]\n      from: \"09:00\"\n      to: \"16:00\"\n  freezes:\n    - {from: 2026-12-21, to: 2027-01-04, reason: x}\n",
		"repos: &a [*a]\n", "a: !!binary x", "repos:\n  - path: ../../etc\n", "repos:\n  - path: -x\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "/w/cascade.yaml"
		ws, err := Parse(file, data)
		if err != nil {
			if errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), "cascade.yaml") {
				t.Fatalf("error of kind %v without the file name: %v", errkind.Of(err), err)
			}
			return
		}
		again, err := Parse(file, data)
		if err != nil || len(again.Repos) != len(ws.Repos) {
			t.Fatalf("second read differs: %v", err)
		}
	})
}

// FuzzParseRepoConfig: any .cascade.yaml is read or refused with an
// Invalid error that names the file.
func FuzzParseRepoConfig(f *testing.F) {
	for _, s := range []string{
		"build: go build ./...\ntest: go test ./...\nbench: go test -run '^$' -bench . ./...\napi:\n  jsonschema: [schemas/*.json]\n",
		"release:\n  steps:\n    - name: Tag {{.Version}}\n      run: git tag {{.Version}}\n    - name: Deploy\n      manual: Run it.\n    - name: Health\n      check: curl -fsS https://x\n      retry: {attempts: 10, every: 30s}\n      network: true\n      env: [DEPLOY_TOKEN]\n    - name: Down\n      verify: downstream\n",
		"api:\n  jsonschema: [\"../../etc/passwd\"]\n", "{}", "- a\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "repo/.cascade.yaml"
		if _, err := ParseRepoConfig(file, data); err != nil {
			if errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), ".cascade.yaml") {
				t.Fatalf("error of kind %v without the file name: %v", errkind.Of(err), err)
			}
		}
	})
}
