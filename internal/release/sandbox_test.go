package release

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/runbook"
	"github.com/cascade-dev/cascade/internal/sandbox"
)

func TestStepNetworkAndEnv(t *testing.T) {
	specs, err := runbook.Parse("svc@main:.cascade.yaml", []byte(`release:
  steps:
    - name: Deploy
      run: ./deploy
      network: true
      env: [DEPLOY_TOKEN]
    - name: Offline
      run: ./check
`))
	if err != nil {
		t.Fatal(err)
	}
	if !specs[0].Network || len(specs[0].Env) != 1 || specs[0].Env[0] != "DEPLOY_TOKEN" || specs[1].Network || specs[1].Env != nil {
		t.Fatalf("specs = %+v", specs)
	}
	for _, bad := range []string{"network: yes", "network: [true]", "env: DEPLOY_TOKEN", "env: ['A=B']", "env: ['1X']", "env: ['--x']"} {
		_, err := runbook.Parse("f", []byte("release:\n  steps:\n    - name: x\n      run: x\n      "+bad+"\n"))
		if err == nil || !strings.Contains(err.Error(), "f:5:") {
			t.Errorf("%q: %v, want an error at f:5", bad, err)
		}
	}

	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	env := map[string]string{"DEPLOY_TOKEN": "tok-123", "OTHER_SECRET": "other-456"}
	e := &Engine{LookupEnv: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	script := fmt.Sprintf(`echo "token=$DEPLOY_TOKEN other=$OTHER_SECRET plan=$CASCADE_PLAN"; (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null && echo REACHED`, l.Addr().(*net.TCPAddr).Port)
	dir := t.TempDir()
	run := func(spec Spec) string {
		base := sandbox.Cmd{Args: []string{"bash", "-c", script}, Env: runbook.Env(runbook.Data{Plan: "p1"})}
		c := e.stepCmd(spec, base, dir, 30*time.Second)
		res, err := sandbox.Run(context.Background(), c)
		if err != nil || res.StartErr != nil {
			t.Fatalf("%v %v", err, res.StartErr)
		}
		return res.Output
	}
	out := run(specs[0])
	if !strings.Contains(out, "token=tok-123 other= plan=p1") || !strings.Contains(out, "REACHED") {
		t.Errorf("a step with network: true and env: [DEPLOY_TOKEN]:\n%s", out)
	}
	out = run(specs[1])
	if !strings.Contains(out, "token= other= plan=p1") || strings.Contains(out, "REACHED") {
		t.Errorf("a step without network or env:\n%s", out)
	}
}
