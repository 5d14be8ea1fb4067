package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// Every command cascade suggests in its output ("run `cascade release next
// p`", "try: cascade ...") must run as printed. The script command
//
//	hints DIR
//
// reads the last command's stdout and stderr, finds the cascade commands
// they suggest, and runs each in a copy of DIR (the workspace the output
// was about, as it is now), failing when one is a usage error: exit 2 for
// an unknown flag or command, or a missing or extra argument. It prints
// each command it ran, for the script to match. "! hints DIR" fails
// unless one is a usage error (the check's own test).

var (
	// quotedCommand is a command in backquotes; the word before says
	// whether it is suggested ("run", "with", ...) or only named ("this
	// `cascade release next`").
	quotedCommand = regexp.MustCompile("(\\S*)\\s*`(cascade [^`]+)`")
	// trailingCommand is a command after "try:", "run:" or "confirms:" at
	// the end of a line.
	trailingCommand = regexp.MustCompile(`(?:^|\s)(?:try|run|confirms):\s+(cascade\s[^` + "`" + `]+?)\s*$`)
	// usageError is what a usage error of cascade (or its flag parser) says.
	usageError = regexp.MustCompile(`unknown flag|unknown shorthand flag|unknown command|flag needs an argument|: missing |accepts \d|unexpected argument`)
)

// suggestedCommands lists the cascade commands out suggests, each once,
// in the order they first appear.
func suggestedCommands(out string) []string {
	var cmds []string
	seen := map[string]bool{}
	add := func(c string) {
		c = strings.Join(strings.Fields(c), " ")
		if !seen[c] {
			seen[c] = true
			cmds = append(cmds, c)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		for _, m := range quotedCommand.FindAllStringSubmatch(line, -1) {
			if before := strings.ToLower(m[1]); before == "this" || before == "another" {
				continue // names a command that ran, suggests nothing
			}
			add(m[2])
		}
		if m := trailingCommand.FindStringSubmatch(line); m != nil {
			add(m[1])
		}
	}
	return cmds
}

// hintEnv is what a suggested command runs with: the script's own
// settings.
var hintEnv = []string{"HOME", "PATH", "TMPDIR", "USER", "CASCADE_CACHE_DIR", "CASCADE_TEST_NOW", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_GLOBAL", "GIT_AUTHOR_DATE", "GIT_COMMITTER_DATE", "GOCACHE", "GOPROXY", "GOTOOLCHAIN", "GOFLAGS"}

// hintJobs is how many suggested commands run at once. Each runs in a
// copy of its own; most wait on their children (git, sandboxed builds),
// and one `plan check` may verify every downstream again while the others
// finish.
const hintJobs = 3

// hintRun is what one suggested command did.
type hintRun struct {
	code int
	out  string
	err  error
}

func runHints(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: [!] hints DIR")
	}
	bad := 0
	exe, err := os.Executable()
	ts.Check(err)
	var env []string
	for _, k := range hintEnv {
		env = append(env, k+"="+ts.Getenv(k))
	}
	src := ts.MkAbs(args[0])
	cmds := suggestedCommands(ts.ReadFile("stdout") + "\n" + ts.ReadFile("stderr"))
	// The commands run side by side, each in its own copy of DIR (copied
	// before any runs, so that each sees DIR as it is now); what they did
	// is judged below in their order, on this goroutine.
	runs := make([]hintRun, len(cmds))
	dirs := make([]string, len(cmds))
	for i := range cmds {
		parent, err := os.MkdirTemp("", "cascade-hint-")
		ts.Check(err)
		defer func() {
			exec.Command("chmod", "-R", "u+w", parent).Run()
			os.RemoveAll(parent)
		}()
		dirs[i] = filepath.Join(parent, filepath.Base(src))
		if out, err := exec.Command("cp", "-a", src, dirs[i]).CombinedOutput(); err != nil {
			ts.Fatalf("copying %s: %v\n%s", src, err, out)
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, hintJobs)
	for i, c := range cmds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			words := strings.Fields(c)
			cmd := &exec.Cmd{Path: exe, Args: append([]string{"cascade"}, words[1:]...), Dir: dirs[i], Env: env}
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			err := cmd.Run()
			if _, ok := err.(*exec.ExitError); ok {
				err = nil
			}
			runs[i] = hintRun{code: cmd.ProcessState.ExitCode(), out: out.String(), err: err}
		}()
	}
	wg.Wait()
	for i, c := range cmds {
		r := runs[i]
		if r.err != nil {
			ts.Fatalf("%s: %v", c, r.err)
		}
		ts.Logf("suggested `%s` exited %d", c, r.code)
		if r.code == 2 && usageError.MatchString(r.out) {
			bad++
			if !neg {
				ts.Fatalf("the suggested command `%s` is a usage error as printed:\n%s", c, r.out)
			}
			ts.Stdout().Write([]byte("usage error: " + c + "\n"))
			continue
		}
		ts.Stdout().Write([]byte("ran " + c + "\n"))
	}
	if neg && bad == 0 {
		ts.Fatalf("no suggested command is a usage error")
	}
}

func TestSuggestedCommands(t *testing.T) {
	out := "started the release of p as alice (4 steps); run `cascade release next p`\n" +
		"When it is done, alice confirms: cascade release confirm p 3\n" +
		"this `cascade release next` lost its lease; see `cascade release status p` and `cascade release next p`\n" +
		"no cascade.yaml; run `cascade init DIR...` to create one\n"
	got := strings.Join(suggestedCommands(out), "|")
	want := "cascade release next p|cascade release confirm p 3|cascade release status p|cascade init DIR..."
	if got != want {
		t.Errorf("suggestedCommands = %q, want %q", got, want)
	}
}
