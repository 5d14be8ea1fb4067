package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/cascade-dev/cascade/docs"
	"github.com/cascade-dev/cascade/internal/cli"
	"github.com/cascade-dev/cascade/internal/demo"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/runbook"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// The pages under docs/ are run, not just read. Every fenced block has an
// info string that says what it is:
//
//   - ```sh: a session in the demo organisation. A line starting with "$ "
//     is a command (a trailing "\" continues it), run with sh in the
//     organisation's directory with the real cascade; it must exit 0, or N
//     when the line's comment says "exits N". The lines after it are
//     output that must appear, in order, among the lines the command
//     printed (stdout and stderr): runs of spaces count as one, and "..."
//     stands for any text (a line of its own: any lines).
//   - ```yaml PATH: a file. cascade.yaml is parsed by workspace.Parse (in
//     the demo organisation, so that its paths resolve), a .cascade.yaml
//     by workspace.ParseRepoConfig and runbook.Parse, plans/ID.yaml by
//     plan.Parse; any other PATH must be valid YAML. With a third word
//     "error" the file must be refused, and the ```text block that follows
//     holds the message, matched as output is; with "write" it is also
//     written to PATH in the organisation, for the commands after it.
//   - ```text: output shown without a command (not run); ```json: valid JSON.
//
// Each page runs in its own copy of one demo organisation; commands share
// one cache directory, so results cached by commit are reused.

// block is one fenced code block of a page.
type block struct {
	info []string
	body []string
	line int
}

var fence = regexp.MustCompile("^```")

func blocks(t *testing.T, name, text string) []block {
	t.Helper()
	var out []block
	var cur *block
	for i, l := range strings.Split(text, "\n") {
		if !fence.MatchString(l) {
			if cur != nil {
				cur.body = append(cur.body, l)
			}
			continue
		}
		if cur != nil {
			out = append(out, *cur)
			cur = nil
			continue
		}
		info := strings.Fields(strings.TrimPrefix(l, "```"))
		if len(info) == 0 {
			t.Errorf("%s.md:%d: a code block without an info string; say what it is: sh, yaml PATH, text or json", name, i+1)
		}
		cur = &block{info: info, line: i + 1}
	}
	if cur != nil {
		t.Errorf("%s.md:%d: the code block is not closed", name, cur.line)
	}
	return out
}

// normalize collapses runs of white space, as the pages' tables may be
// aligned differently from the output.
func normalize(s string) string { return strings.Join(strings.Fields(s), " ") }

// pattern is an expected line as a regexp: "..." matches any text.
func pattern(line string) *regexp.Regexp {
	parts := strings.Split(normalize(line), "...")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$")
}

// matchLines checks that each expected line matches a line of got, in order.
func matchLines(want []string, got string) error {
	lines := strings.Split(got, "\n")
	i := 0
	for _, w := range want {
		if strings.TrimSpace(w) == "" || strings.TrimSpace(w) == "..." {
			continue
		}
		re := pattern(w)
		for i < len(lines) && !re.MatchString(normalize(lines[i])) {
			i++
		}
		if i == len(lines) {
			return fmt.Errorf("no line (after the previous match) matches %q", w)
		}
		i++
	}
	return nil
}

var exitNote = regexp.MustCompile(`#.*\bexits? (\d+)\b`)

// command is one "$ " line of a sh block with the output shown under it.
type command struct {
	text string
	exit int
	want []string
	line int
}

func commands(t *testing.T, name string, b block) []command {
	t.Helper()
	var out []command
	for i := 0; i < len(b.body); i++ {
		l := b.body[i]
		if strings.HasPrefix(l, "$ ") {
			c := command{text: strings.TrimPrefix(l, "$ "), line: b.line + 1 + i}
			for strings.HasSuffix(c.text, `\`) && i+1 < len(b.body) {
				i++
				c.text = strings.TrimSuffix(c.text, `\`) + " " + strings.TrimSpace(b.body[i])
			}
			if m := exitNote.FindStringSubmatch(c.text); m != nil {
				c.exit, _ = strconv.Atoi(m[1])
			}
			out = append(out, c)
			continue
		}
		if len(out) == 0 {
			if strings.TrimSpace(l) != "" {
				t.Errorf("%s.md:%d: a sh block starts with a command (\"$ cascade ...\"), not %q", name, b.line+1+i, l)
			}
			continue
		}
		out[len(out)-1].want = append(out[len(out)-1].want, l)
	}
	return out
}

// parseFile parses a page's YAML example with the parser of the file it
// stands for, in the demo organisation org.
func parseFile(org, path string, data []byte) error {
	base := filepath.Base(path)
	switch {
	case base == workspace.FileName:
		_, err := workspace.Parse(filepath.Join(org, path), data)
		return err
	case base == workspace.RepoConfigFile:
		if _, err := workspace.ParseRepoConfig(path, data); err != nil {
			return err
		}
		_, err := runbook.Parse(path, data)
		return err
	case filepath.Dir(path) == plan.Dir && strings.HasSuffix(base, ".yaml"):
		_, err := plan.Parse(path, data)
		return err
	}
	var v any
	return yaml.Unmarshal(data, &v)
}

// docsEnv is what the pages' commands run with: the test binary as
// cascade first in PATH, offline Go builds, a shared cache and a
// deterministic git.
func docsEnv(t *testing.T, dir string) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(exe, filepath.Join(bin, "cascade")); err != nil {
		t.Fatal(err)
	}
	gitconfig := filepath.Join(dir, "gitconfig")
	if err := os.WriteFile(gitconfig, []byte("[user]\n\tname = Docs Engineer\n\temail = docs@cascade.example\n[advice]\n\tdetachedHead = false\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, "CASCADE_") && !strings.HasPrefix(kv, "GOFLAGS=") && !strings.HasPrefix(kv, "PLUGIN_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"CASCADE_CACHE_DIR="+filepath.Join(dir, "cache"),
		"GOCACHE="+goCache(t), "GOPROXY=off", "GOTOOLCHAIN=local", "GOFLAGS=",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+gitconfig,
		"GIT_AUTHOR_DATE=2026-03-02T09:00:00Z", "GIT_COMMITTER_DATE=2026-03-02T09:00:00Z",
	)
}

// TestDocs runs every example of every page under docs/ against the demo
// organisation, with the real cascade.
func TestDocs(t *testing.T) {
	t.Parallel()
	slot(t)
	if testing.Short() {
		t.Skip("runs every docs example against the demo organisation")
	}
	ctx := context.Background()
	root := t.TempDir()
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", root).Run() })
	if _, err := demo.Build(ctx, filepath.Join(root, "demo")); err != nil {
		t.Fatal(err)
	}
	env := docsEnv(t, root)
	for _, topic := range docs.Topics() {
		t.Run(topic.Name, func(t *testing.T) {
			text, _ := docs.Page(topic.Name)
			org := filepath.Join(root, topic.Name)
			if out, err := exec.Command("cp", "-a", filepath.Join(root, "demo"), org).CombinedOutput(); err != nil {
				t.Fatalf("copying the demo organisation: %v\n%s", err, out)
			}
			bs := blocks(t, topic.Name, text)
			for i, b := range bs {
				if len(b.info) == 0 {
					continue
				}
				where := fmt.Sprintf("%s.md:%d", topic.Name, b.line)
				switch b.info[0] {
				case "sh":
					for _, c := range commands(t, topic.Name, b) {
						runCommand(t, fmt.Sprintf("%s.md:%d", topic.Name, c.line), org, env, c)
					}
				case "yaml":
					if len(b.info) < 2 {
						t.Errorf("%s: a yaml block names the file it stands for: ```yaml cascade.yaml, ```yaml .cascade.yaml, ```yaml plans/ID.yaml", where)
						continue
					}
					data := []byte(strings.Join(b.body, "\n"))
					err := parseFile(org, b.info[1], data)
					wantErr := len(b.info) > 2 && b.info[2] == "error"
					if len(b.info) > 2 && b.info[2] == "write" && err == nil {
						writeExample(t, org, b.info[1], data)
					}
					switch {
					case !wantErr && err != nil:
						t.Errorf("%s: the example of %s is refused: %v", where, b.info[1], err)
					case wantErr && err == nil:
						t.Errorf("%s: the bad example of %s is accepted", where, b.info[1])
					case wantErr:
						if i+1 >= len(bs) || len(bs[i+1].info) == 0 || bs[i+1].info[0] != "text" {
							t.Errorf("%s: a bad example is followed by a ```text block with its error", where)
						} else if merr := matchLines(bs[i+1].body, err.Error()); merr != nil {
							t.Errorf("%s: the error of the bad example differs from the page's: %v\ngot: %v", where, merr, err)
						}
					}
				case "json":
					if !json.Valid([]byte(strings.Join(b.body, "\n"))) {
						t.Errorf("%s: invalid JSON", where)
					}
				case "text":
				default:
					t.Errorf("%s: unknown code block kind %q; use sh, yaml PATH, text or json", where, b.info[0])
				}
			}
		})
	}
}

// writeExample writes a page's file example into the organisation org.
func writeExample(t *testing.T, org, path string, data []byte) {
	t.Helper()
	file := filepath.Join(org, filepath.FromSlash(path))
	if !strings.HasPrefix(file, org+string(filepath.Separator)) {
		t.Fatalf("the example's path %s leaves the organisation", path)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func runCommand(t *testing.T, where, dir string, env []string, c command) {
	t.Helper()
	cmd := exec.Command("sh", "-c", c.text)
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("%s: %v", where, err)
	}
	code := cmd.ProcessState.ExitCode()
	if code != c.exit {
		t.Errorf("%s: `%s` exited %d, the page says %d; it printed:\n%s", where, c.text, code, c.exit, out.String())
		return
	}
	if err := matchLines(c.want, out.String()); err != nil {
		t.Errorf("%s: the output of `%s` differs from the page's: %v; it printed:\n%s", where, c.text, err, out.String())
	}
}

// TestHelpTopics checks that `cascade help TOPIC` prints each page as it
// is in docs/, that `cascade help` lists every topic, that every page is
// a topic, and that an unknown topic is bad usage.
func TestHelpTopics(t *testing.T) {
	run := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := cli.Main(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	files := map[string]bool{}
	for _, f := range docs.Files() {
		if strings.HasSuffix(f, ".md") {
			files[strings.TrimSuffix(f, ".md")] = true
		}
	}
	code, list, _ := run("help")
	if code != 0 || !strings.Contains(list, "Available Commands:") || !strings.Contains(list, "Reference pages (cascade help TOPIC):") {
		t.Errorf("cascade help = %d:\n%s", code, list)
	}
	for _, topic := range docs.Topics() {
		delete(files, topic.Name)
		want, err := os.ReadFile(filepath.Join("..", "..", "docs", topic.Name+".md"))
		if err != nil {
			t.Fatal(err)
		}
		code, got, stderr := run("help", topic.Name)
		if code != 0 || got != string(want) || stderr != "" {
			t.Errorf("cascade help %s = %d, stderr %q; the page differs from docs/%s.md", topic.Name, code, stderr, topic.Name)
		}
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(topic.Name) + ` +` + regexp.QuoteMeta(topic.Title) + `$`).MatchString(list) {
			t.Errorf("cascade help does not list %s (%s)", topic.Name, topic.Title)
		}
	}
	for f := range files {
		t.Errorf("docs/%s.md is not a help topic", f)
	}
	code, _, stderr := run("help", "cascade-yml")
	if code != 2 || !strings.Contains(stderr, `no help topic or command "cascade-yml"; topics: cascade-yaml, repo-config,`) {
		t.Errorf("cascade help cascade-yml = %d, %q; want exit 2 naming the topics", code, stderr)
	}
	code, got, _ := run("help", "release", "start")
	if code != 0 || !strings.Contains(got, "cascade release start PLAN") {
		t.Errorf("cascade help release start = %d:\n%s", code, got)
	}
	code, _, stderr = run("help", "release", "strat")
	if code != 2 || !strings.Contains(stderr, `no help topic or command "release strat"`) {
		t.Errorf("cascade help release strat = %d, %q; want exit 2", code, stderr)
	}
}
