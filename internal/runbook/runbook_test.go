package runbook

import (
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	specs, err := Parse("svc@main:.cascade.yaml", []byte(`build: go build ./...
release:
  steps:
    - name: Tag {{.Version}}
      tag: true
    - name: Deploy
      manual: Deploy {{.Repo}} {{.Version}}
      inputs: [deployed_version]
    - name: Health
      check: test {{.Inputs.deployed_version}} = {{.Version}}
      retry: {attempts: 10, every: 30s}
      timeout: 1m
    - name: Migrate
      run: ./migrate --plan {{.Plan}} --commit {{.Commit}} --ref {{.Ref}}
      idempotent: true
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 4 || specs[2].Attempts != 10 || specs[2].Every != 30*time.Second || specs[2].Timeout != time.Minute || !specs[3].Idempotent || specs[1].Inputs[0] != "deployed_version" {
		t.Errorf("specs = %+v", specs)
	}
	if specs, err := Parse("x", []byte("build: x\n")); err != nil || specs != nil {
		t.Errorf("no release block: %v %v", specs, err)
	}
	for data, want := range map[string]string{
		"release:\n  steps:\n    - name: a\n      deploy: x\n":                           `x:4: unknown key "deploy" in a step`,
		"release:\n  steps:\n    - run: x\n":                                             "x:3: a step needs a name",
		"release:\n  steps:\n    - name: a\n      run: x\n    - name: a\n      run: y\n": `x:5: two steps are named "a" (lines 3 and 5)`,
		"release:\n  steps:\n    - name: a\n      run: echo {{.Verison}}\n":              `x:3: step "a": unknown template field`,
		"release:\n  steps:\n    - name: a\n":                                            `x:3: step "a" needs one of run, manual`,
		"release:\n  steps:\n    - name: a\n      run: x\n      manual: y\n":             `step "a" has two kinds (run and manual)`,
		"release:\n  steps:\n    - name: a\n      run: x\n      timeout: soon\n":         `timeout "soon" is not a positive duration`,
		"release:\n  steps:\n    - name: a\n      run: x\n      timeout: -5m\n":          `x:5: timeout "-5m" is not a positive duration`,
		// A value that would read as if it changed what the step does.
		"release:\n  steps:\n    - name: a\n      tag: false\n":                            `x:4: tag takes true (the step tags); to leave it out, remove the step`,
		"release:\n  steps:\n    - name: a\n      gate: no\n":                              `x:4: gate takes true`,
		"release:\n  steps:\n    - name: a\n      verify: upstream\n":                      `x:4: verify takes downstream`,
		"release:\n  steps:\n    - name: a\n      run: x\n      idempotent: yes\n":         `x:5: idempotent must be true or false`,
		"release:\n  steps:\n    - name: a\n      run: x\n      retry: {attempt: 3}\n":     `x:5: unknown key "attempt" in retry; known keys: attempts, every`,
		"release:\n  steps:\n    - name: a\n      run: x\n      retry: {attempts: -1}\n":   `retry.attempts is -1; give 1 or more`,
		"release:\n  steps:\n    - name: t\n      tag: true\n      retry: {attempts: 3}\n": `x:5: step "t": retry applies only to run and check steps, not to a tag step`,
		"release:\n  steps:\n    - name: m\n      manual: do it\n      timeout: 5m\n":      `x:5: step "m": timeout applies only to run and check steps, not to a manual step`,
		"release:\n  steps:\n    - name: r\n      run: x\n      inputs: [v]\n":             `x:5: step "r": inputs are asked for by a manual step, not a run step`,
		"release:\n  stages: []\n":                                  `unknown key "stages" in release`,
		"release:\n  steps:\n    - name: a\n      run: '{{.Repo'\n": "invalid template",
	} {
		if _, err := Parse("x", []byte(data)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", data, err, want)
		}
	}
}
