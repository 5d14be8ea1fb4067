package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/cli"
	"github.com/cascade-dev/cascade/internal/demo"
)

// TestServeProcess runs the real `cascade serve` on the demo organisation:
// it prints its URL, answers the API with the bytes `cascade graph
// --format json` prints, logs JSON lines with --log-format json, and on
// SIGTERM stops gracefully and exits 0. Without --public-read it refuses
// reads with 401.
func TestServeProcess(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", dir).Run() })
	org := filepath.Join(dir, "demo")
	if _, err := demo.Build(context.Background(), org); err != nil {
		t.Fatal(err)
	}
	env := docsEnv(t, dir)
	for _, public := range []bool{true, false} {
		args := []string{"serve", "--addr", "127.0.0.1:0", "--log-format", "json"}
		if public {
			args = append(args, "--public-read")
		}
		cmd := exec.Command("cascade", args...)
		cmd.Dir, cmd.Env = org, env
		cmd.Path = filepath.Join(dir, "bin", "cascade")
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			lines <- line
			io.Copy(io.Discard, stdout)
		}()
		var line string
		select {
		case line = <-lines:
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			t.Fatalf("cascade serve printed no URL in 2 minutes; stderr:\n%s", stderr.String())
		}
		m := regexp.MustCompile(`^cascade: serving (.+) on (http://127\.0\.0\.1:[0-9]+/)\n$`).FindStringSubmatch(line)
		if m == nil || m[1] != org {
			cmd.Process.Kill()
			t.Fatalf("cascade serve printed %q; want cascade: serving %s on http://127.0.0.1:PORT/", line, org)
		}
		resp, err := http.Get(m[2] + "api/v1/graph")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if public {
			var want bytes.Buffer
			code := cli.Main(context.Background(), []string{"--workspace", filepath.Join(org, "cascade.yaml"), "graph", "--format", "json"}, strings.NewReader(""), &want, io.Discard)
			if code != 0 || resp.StatusCode != 200 || string(body) != want.String() {
				t.Errorf("GET /api/v1/graph = %d, cascade graph exit %d; the bodies differ:\nserver: %.300s\ncli:    %.300s", resp.StatusCode, code, body, want.String())
			}
		} else if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("without --public-read, GET /api/v1/graph = %d %s; want 401 problem", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		err = cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("cascade serve exited %d (%v) on SIGTERM; want 0\n%s", code, err, stderr.String())
		}
		var msgs []string
		for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
			var rec struct {
				Msg string `json:"msg"`
			}
			if err := json.Unmarshal([]byte(l), &rec); err != nil {
				t.Errorf("--log-format json wrote a line that is not JSON: %q", l)
			}
			msgs = append(msgs, rec.Msg)
		}
		got := strings.Join(msgs, ",")
		if !strings.Contains(got, "serving,request,shutting down,stopped") {
			t.Errorf("log messages %s; want serving, the request, shutting down, stopped", got)
		}
	}
	if _, err := os.Stat(filepath.Join(org, ".cascade", "cascade.db")); err != nil {
		t.Errorf("serve did not open the default database beside cascade.yaml: %v", err)
	}
}
