package cli

import (
	"bufio"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/demo"
	"github.com/cascade-dev/cascade/internal/errkind"
)

func (a *app) demoCommand() *cobra.Command {
	var buildOnly, keep bool
	cmd := &cobra.Command{
		Use:   "demo [DIR]",
		Short: "Build a demo organisation and walk through what cascade sees",
		Long: `Build the demo organisation in DIR (default: a new temporary directory,
removed at the end unless --keep) as
real git repositories with history, tags and branches, write DIR/cascade.yaml,
and run cascade's commands on it, printing each command before its output.

The organisation tells a release story: clever-db's strict-where branch
changes a function that clever-api uses, while clever-api's fix sits on its
adapt-strict-where branch; district-sync reaches clever-db through clever-api;
clever-jobs uses only untouched code; flaky-reports has a flaky test.
The walk then plans the release of clever-db and clever-api: the semver gate
holds it until both move to their /v2 module paths, the performance gate
until a slow quick fix is dropped from the scope; alice releases it, signed,
and the runner is killed with SIGKILL mid-step and resumed. A second release
(district-sync) ends with the audit log verified, then tampered with.

On a terminal the walk pauses between steps; otherwise it runs straight through.`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			var dir string
			if len(argv) == 1 {
				d, err := filepath.Abs(argv[0])
				if err != nil {
					return err
				}
				dir = d
			} else {
				d, err := os.MkdirTemp("", "cascade-demo-")
				if err != nil {
					return errkind.Wrap(errkind.Infra, err)
				}
				dir = d
				if !keep && !buildOnly {
					// A directory nobody named is removed at the end,
					// whatever happens.
					defer func() {
						if err := removeTree(dir); err != nil {
							fmt.Fprintf(a.stderr, "cascade: could not remove the demo organisation in %s: %v\n", dir, err)
							return
						}
						fmt.Fprintf(a.stdout, "\nRemoved the demo organisation in %s (`cascade demo --keep` keeps it; `cascade demo DIR` builds it in DIR).\n", dir)
					}()
				}
			}
			fmt.Fprintf(a.stdout, "Building the demo organisation in %s\n", dir)
			file, err := demo.BuildAt(a.ctx, dir, a.now())
			if err != nil {
				return err
			}
			if len(argv) == 0 && !keep && !buildOnly {
				fmt.Fprintf(a.stdout, "Wrote %s (in a temporary directory, removed at the end: `cascade demo --keep` keeps it).\n", file)
			} else {
				fmt.Fprintf(a.stdout, "Wrote %s. To run the commands yourself: cd %s\n", file, dir)
			}
			if buildOnly {
				return nil
			}
			return a.walk(file, dir, demoSteps)
		},
	}
	cmd.Flags().BoolVar(&buildOnly, "build-only", false, "build the organisation without walking through it (it is kept)")
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the temporary directory the organisation is built in (a DIR given is always kept)")
	return cmd
}

// removeTree removes dir and everything in it, making read-only
// directories (a Go module cache sets them so) writable first.
func removeTree(dir string) error {
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}

// demoStep is one command of the walk-through, with what it shows; or,
// with do, something a person does to the organisation in the story.
type demoStep struct {
	say  string
	args []string
	// do acts on the demo organisation in dir; shown is what it stands for.
	do    func(ctx context.Context, dir string) (string, error)
	shown string
	// kill, when not 0, runs args as a separate cascade process and kills
	// it with SIGKILL while step kill of the release is running (shown
	// says so).
	kill int
}

var demoSteps = []demoStep{
	{"Every repo, its modules and what it requires. Edges come from go.mod, package.json and catalog-info.yaml.",
		[]string{"graph"}, nil, "", 0},
	{"Who can a clever-db change break? district-sync is two steps away, through clever-api.",
		[]string{"downstream", "clever-db"}, nil, "", 0},
	{"And what district-sync stands on.",
		[]string{"upstream", "district-sync"}, nil, "", 0},
	{"npm packages count too: clever-js depends on @clever/schemas.",
		[]string{"downstream", "clever-schemas"}, nil, "", 0},
	{"Before merging clever-db's strict-where, build and test every downstream against it, alone and together with\n" +
		"# clever-api's fix branch. Real builds, offline; each paired with its baseline. (It exits 1: something regressed.)",
		[]string{"verify", "clever-db@strict-where", "--with", "clever-api@adapt-strict-where"}, nil, "", 0},
	{"Semver that cannot be fudged: strict-where changes query.Find's signature, so v1.5.0 under-promises. (It exits 1.)",
		[]string{"semver", "clever-db", "--head", "strict-where", "--proposed", "v1.5.0"}, nil, "", 0},
	{"json-schema-converter's strict-where only adds ConvertStrict: a minor release is enough.",
		[]string{"semver", "json-schema-converter", "--head", "strict-where"}, nil, "", 0},
	{"adapt-strict-where also tightens the API's where schema. What would partners' requests start failing on?\n" +
		"# Each finding comes with an example request, checked against both schemas. (It exits 1: the change is breaking.)",
		[]string{"schema-diff", "clever-api@master:schemas/where.json", "clever-api@adapt-strict-where:schemas/where.json"}, nil, "", 0},
	{"And which partners actually send such requests? Replay a day of clever-api's request log through both schemas.",
		[]string{"replay", "--old", "clever-api@master:schemas/where.json", "--new", "clever-api@adapt-strict-where:schemas/where.json",
			"--field", "where", "--group-by", "partner", "{dir}/clever-api/logs/requests.jsonl"}, nil, "", 0},
	{"Plan the release: one manager, the scope frozen at today's heads, the order computed from the graph.",
		[]string{"plan", "new", "strict-where", "--title", "Strict where validation", "--manager", "alice",
			"--change", "clever-db@strict-where", "--change", "clever-api@adapt-strict-where",
			"--version", "clever-db=v2.0.0", "--version", "clever-api=v2.0.0", "--spec", "https://specs.clever.example/json-schema-validation"}, nil, "", 0},
	{"The plan as Markdown, to paste into the spec or the pull request.",
		[]string{"plan", "show", "strict-where", "--format", "markdown"}, nil, "", 0},
	{"Check the gates on a Friday morning: the window gate says no, and when the next window opens.\n" +
		"# semver also fails: v2.0.0 is the right bump, but a v2 release of a Go module needs the /v2 module path.",
		[]string{"plan", "check", "strict-where", "--at", "{friday}"}, nil, "", 0},
	{"So the change set moves to the /v2 paths: clever-db's go.mod says example.com/clever/clever-db/v2, and clever-api\n" +
		"# (a major release too) moves to example.com/clever/clever-api/v2 and imports clever-db/v2.", nil,
		func(ctx context.Context, dir string) (string, error) {
			db, api, err := demo.MoveToV2(ctx, dir)
			if err != nil {
				return "", err
			}
			return "committed " + db[:12] + " to clever-db@strict-where and " + api[:12] + " to clever-api@adapt-strict-where", nil
		}, `git -C clever-db commit -m "Module path example.com/clever/clever-db/v2 for the v2 release"  # on strict-where
$ git -C clever-api commit -m "Module path example.com/clever/clever-api/v2 for the v2 release; import clever-db/v2"  # on adapt-strict-where`, 0},
	{"Right before the release, someone pushes a \"quick fix\" to clever-api's branch.", nil,
		func(ctx context.Context, dir string) (string, error) {
			id, err := demo.PushQuickFix(ctx, dir)
			return "committed " + id[:12] + " to clever-api@adapt-strict-where", err
		}, `git -C clever-api commit -m "Quick fix: accept where fields in any case"  # on adapt-strict-where`, 0},
	{"The scope gate lists every commit outside the frozen scope: the /v2 moves and the quick fix.",
		[]string{"plan", "check", "strict-where"}, nil, "", 0},
	{"The manager accepts them into the scope (signed, recorded in the plan)...",
		[]string{"plan", "rescope", "strict-where", "--key", "{dir}/keys/alice", "--reason", "the /v2 module paths, and the case-insensitive fields fix"}, nil, "", 0},
	{"...semver now passes with the /v2 paths, every downstream still builds and passes (those on v1 keep v1), and the\n" +
		"# performance gate catches what the quick fix does: the API got very, very slow.",
		[]string{"plan", "check", "strict-where"}, nil, "", 0},
	{"Release it step by step. Every action is signed with the person's SSH key; bob's key is not the manager's.\n" +
		"# (It exits 1, and the refusal is recorded.)",
		[]string{"release", "start", "strict-where", "--key", "{dir}/keys/bob"}, nil, "", 0},
	{"Not even alice may start it while a gate fails: performance says no. (It exits 1.)",
		[]string{"release", "start", "strict-where", "--key", "{dir}/keys/alice"}, nil, "", 0},
	{"The re-freeze and every refusal are in the audit log, signed by whoever acted or was refused; each entry carries the hash of the one before.",
		[]string{"release", "log", "strict-where", "--verify"}, nil, "", 0},
	{"The team reverts the quick fix on clever-api's branch...", nil,
		func(ctx context.Context, dir string) (string, error) {
			id, err := demo.RevertQuickFix(ctx, dir)
			return "committed " + id[:12] + " to clever-api@adapt-strict-where", err
		}, `git -C clever-api revert --no-edit HEAD  # on adapt-strict-where`, 0},
	{"...and alice re-freezes the scope without it, signed with her key.",
		[]string{"plan", "rescope", "strict-where", "--key", "{dir}/keys/alice", "--reason", "drop the slow quick fix"}, nil, "", 0},
	{"Every gate passes now, inside the demo's own release window (see cascade.yaml).",
		[]string{"plan", "check", "strict-where"}, nil, "", 0},
	{"alice starts the release; the gates of the check are reused (the frozen scope is unchanged since).",
		[]string{"release", "start", "strict-where", "--key", "{dir}/keys/alice"}, nil, "", 0},
	{"The gates again and clever-db's tag (semver checked once more at the tag), then a person deploys clever-db.",
		[]string{"release", "next", "strict-where", "--key", "{dir}/keys/alice"}, nil, "", 0},
	{"", []string{"release", "confirm", "strict-where", "3", "--key", "{dir}/keys/alice"}, nil, "", 0},
	{"alice deploys clever-db and confirms; the next step verifies clever-db's downstreams against the tag. Mid-step, her\n" +
		"# laptop dies. (The demo runs the runner as a separate process and kills it with SIGKILL while step 4 runs.)",
		[]string{"release", "next", "strict-where", "--key", "{dir}/keys/alice"}, nil, `cascade release next strict-where --key keys/alice  # killed with SIGKILL while step 4 runs`, 4},
	{"While the runner is down, the quick fix is pushed to clever-api's branch again.", nil,
		func(ctx context.Context, dir string) (string, error) {
			id, err := demo.PushQuickFix(ctx, dir)
			return "committed " + id[:12] + " to clever-api@adapt-strict-where", err
		}, `git -C clever-api commit -m "Quick fix: accept where fields in any case"  # on adapt-strict-where`, 0},
	{"Resuming takes over the dead runner's lease (recorded). The step that was running is not run again on its own:\n" +
		"# it may have run in part, so a person decides; the steps done before the crash are not run again.",
		[]string{"release", "next", "strict-where", "--key", "{dir}/keys/alice"}, nil, "", 0},
	{"alice runs the step again, and no gate is bypassed after the crash: the scope gate holds the step, nothing runs. (It exits 1.)",
		[]string{"release", "retry", "strict-where", "4", "--key", "{dir}/keys/alice"}, nil, "", 0},
	{"", []string{"release", "next", "strict-where", "--key", "{dir}/keys/alice"}, nil, "", 0},
	{"The crash, the takeover, the interruption and the hold are all in the signed log. (alice reverts the commit, and the\n" +
		"# release goes on as district-sync's does below.)",
		[]string{"release", "log", "strict-where", "--verify"}, nil, "", 0},
	{"A smaller release: district-sync has a change of its own ready.", nil,
		func(ctx context.Context, dir string) (string, error) {
			id, err := demo.PrepareSyncCounts(ctx, dir)
			return "committed " + id[:12] + " to district-sync@sync-docs", err
		}, `git -C district-sync commit -m "sync: document Students"  # on sync-docs`, 0},
	{"Its plan passes every gate, inside the demo's own release window (see cascade.yaml).",
		[]string{"plan", "new", "sync-docs", "--title", "Document district-sync", "--manager", "alice",
			"--change", "district-sync@sync-docs", "--version", "district-sync=v1.0.0"}, nil, "", 0},
	{"", []string{"plan", "check", "sync-docs"}, nil, "", 0},
	{"alice starts it, signed with her key; the gates run again and pass.",
		[]string{"release", "start", "sync-docs", "--key", "{dir}/keys/alice"}, nil, "", 0},
	{"Automated steps run (the gates, the tag) until one needs a person: the deploy. (It exits 4: the release waits for a person.)",
		[]string{"release", "next", "sync-docs", "--key", "{dir}/keys/alice"}, nil, "", 0},
	{"A step cannot be skipped: running on again stops at the same deploy step...",
		[]string{"release", "next", "sync-docs", "--key", "{dir}/keys/alice"}, nil, "", 0},
	{"...and only the manager may override it, with a reason. (bob: it exits 1, recorded.)",
		[]string{"release", "override", "sync-docs", "3", "--reason", "looks fine", "--key", "{dir}/keys/bob"}, nil, "", 0},
	{"alice deploys and confirms; the rest runs and the release is done.",
		[]string{"release", "confirm", "sync-docs", "3", "--key", "{dir}/keys/alice"}, nil, "", 0},
	{"", []string{"release", "next", "sync-docs", "--key", "{dir}/keys/alice"}, nil, "", 0},
	{"Every action, refusal included, is in the audit log, signed; --verify checks the hash chain, every signature,\n" +
		"# and the log's head, which each action also writes into plans/sync-docs.yaml (in git, reviewed).",
		[]string{"release", "log", "sync-docs", "--verify"}, nil, "", 0},
	{"Someone deletes the last entry of the log from the database...", nil,
		func(ctx context.Context, dir string) (string, error) {
			return demo.DeleteLastAuditEntry(ctx, dir)
		}, `sqlite3 .cascade/cascade.db "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)"`, 0},
	{"...and --verify says so. (It exits 1.)",
		[]string{"release", "log", "sync-docs", "--verify"}, nil, "", 0},
}

// walk runs each step against the workspace file, pausing between steps on
// a terminal.
func (a *app) walk(file, dir string, steps []demoStep) error {
	interactive := isTerminal(a.stdin) && isTerminal(a.stdout)
	in := bufio.NewReader(a.stdin)
	for i, s := range steps {
		if s.do != nil {
			fmt.Fprintf(a.stdout, "\n# %s\n$ %s\n", s.say, s.shown)
			msg, err := s.do(a.ctx, dir)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, msg)
			continue
		}
		if s.kill != 0 {
			if err := a.demoKill(file, dir, s); err != nil {
				return err
			}
			continue
		}
		stepArgs := make([]string, len(s.args))
		shown := make([]string, len(s.args))
		for i, arg := range s.args {
			arg = strings.ReplaceAll(arg, "{friday}", demo.FridayAt(a.now()))
			stepArgs[i] = strings.ReplaceAll(arg, "{dir}", dir)
			shown[i] = strings.ReplaceAll(arg, "{dir}/", "")
			if strings.ContainsAny(shown[i], " '\"$") {
				shown[i] = "'" + strings.ReplaceAll(shown[i], "'", `'\''`) + "'"
			}
		}
		if s.say != "" {
			fmt.Fprintf(a.stdout, "\n# %s", s.say)
		}
		fmt.Fprintf(a.stdout, "\n$ cascade %s\n", strings.Join(shown, " "))
		args := append([]string{"--workspace", file}, stepArgs...)
		if a.cacheDir != "" {
			args = append([]string{"--cache-dir", a.cacheDir}, args...)
		}
		code := MainWith(a.ctx, a.opts, args, a.stdin, a.stdout, a.stderr)
		if err := a.ctx.Err(); err != nil {
			return err // interrupted: the walk stops here
		}
		if code != ExitOK && code != ExitProblem && code != ExitWaiting {
			return &silentError{errkind.New(errkind.Infra, "demo step `cascade %s` failed with exit code %d", strings.Join(s.args, " "), code)}
		}
		if interactive && i < len(steps)-1 {
			fmt.Fprint(a.stdout, "\n[press Enter for the next step] ")
			if _, err := in.ReadString('\n'); err != nil {
				return nil
			}
		}
	}
	return nil
}

// demoKill runs a kill step: the step's command as a child process of the
// cascade binary, killed while the release's step s.kill runs.
func (a *app) demoKill(file, dir string, s demoStep) error {
	fmt.Fprintf(a.stdout, "\n# %s\n$ %s\n", s.say, s.shown)
	exe, err := selfPath()
	if err != nil {
		return err
	}
	args := []string{"--workspace", file}
	if a.cacheDir != "" {
		args = append([]string{"--cache-dir", a.cacheDir}, args...)
	}
	for _, arg := range s.args {
		args = append(args, strings.ReplaceAll(arg, "{dir}", dir))
	}
	cmd := exec.CommandContext(a.ctx, exe, args...)
	cmd.Stdout, cmd.Stderr = a.stdout, a.stderr
	msg, err := demo.KillRunnerMidStep(a.ctx, dir, cmd, s.args[2], s.kill)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, msg)
	return nil
}

// selfPath is the cascade binary this process runs as (as it was invoked,
// found in PATH when named without a directory).
func selfPath() (string, error) {
	if arg := os.Args[0]; arg != "" {
		if strings.Contains(arg, "/") {
			return filepath.Abs(arg)
		}
		if p, err := exec.LookPath(arg); err == nil {
			return p, nil
		}
	}
	p, err := os.Executable()
	if err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	return p, nil
}
