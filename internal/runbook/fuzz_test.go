package runbook

import (
	"strings"
	"testing"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// FuzzParse: any .cascade.yaml's release steps are read or refused
// with an Invalid error that names the file; every step read has a name.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"release:\n  steps:\n    - name: Tag {{.Version}}\n      run: git tag {{.Version}} && git push origin {{.Version}}\n    - name: Deploy to production\n      manual: Run the deploy job for {{.Repo}}.\n    - name: Health check\n      check: curl -fsS https://api.example.com/healthz\n      retry: {attempts: 10, every: 30s}\n      network: true\n      env: [DEPLOY_TOKEN]\n    - name: Downstream still green\n      verify: downstream\n",
		"release:\n  steps: []\n", "release: x\n", "release:\n  steps:\n    - name: '{{range .}}{{end}}'\n      run: x\n",
		"release:\n  steps:\n    - {name: a, run: b, manual: c}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "repo/.cascade.yaml"
		specs, err := Parse(file, data)
		if err != nil {
			if errkind.Of(err) != errkind.Invalid || !strings.Contains(err.Error(), ".cascade.yaml") {
				t.Fatalf("error of kind %v without the file name: %v", errkind.Of(err), err)
			}
			return
		}
		for i, s := range specs {
			if strings.TrimSpace(s.Name) == "" {
				t.Fatalf("step %d read without a name: %+v", i, s)
			}
		}
	})
}
