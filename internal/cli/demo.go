package cli

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/demo"
	"github.com/cascade-dev/cascade/internal/errkind"
)

func (a *app) demoCommand() *cobra.Command {
	var buildOnly bool
	cmd := &cobra.Command{
		Use:   "demo [DIR]",
		Short: "Build a demo organisation and walk through what cascade sees",
		Long: `Build the demo organisation in DIR (default: a new temporary directory) as
real git repositories with history, tags and branches, write DIR/cascade.yaml,
and run cascade's commands on it, printing each command before its output.

The organisation tells a release story: clever-db's strict-where branch
changes a function that clever-api uses, while clever-api's fix sits on its
adapt-strict-where branch; district-sync reaches clever-db through clever-api;
clever-jobs uses only untouched code; flaky-reports has a flaky test.

On a terminal the walk pauses between steps; otherwise it runs straight through.`,
		Args: args(cobra.MaximumNArgs(1)),
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
			}
			fmt.Fprintf(a.stdout, "Building the demo organisation in %s\n", dir)
			file, err := demo.BuildAt(a.ctx, dir, a.now())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Wrote %s. To run the commands yourself: cd %s\n", file, dir)
			if buildOnly {
				return nil
			}
			return a.walk(file, dir, demoSteps)
		},
	}
	cmd.Flags().BoolVar(&buildOnly, "build-only", false, "build the organisation without walking through it")
	return cmd
}

// demoStep is one command of the walk-through, with what it shows; or,
// with do, something a person does to the organisation in the story.
type demoStep struct {
	say  string
	args []string
	// do acts on the demo organisation in dir; shown is what it stands for.
	do    func(ctx context.Context, dir string) (string, error)
	shown string
}

var demoSteps = []demoStep{
	{"Every repo, its modules and what it requires. Edges come from go.mod, package.json and catalog-info.yaml.",
		[]string{"graph"}, nil, ""},
	{"Who can a clever-db change break? district-sync is two steps away, through clever-api.",
		[]string{"downstream", "clever-db"}, nil, ""},
	{"And what district-sync stands on.",
		[]string{"upstream", "district-sync"}, nil, ""},
	{"npm packages count too: clever-js depends on @clever/schemas.",
		[]string{"downstream", "clever-schemas"}, nil, ""},
	{"Before merging clever-db's strict-where, build and test every downstream against it, alone and together with\n" +
		"# clever-api's fix branch. Real builds, offline; each paired with its baseline. (It exits 1: something regressed.)",
		[]string{"verify", "clever-db@strict-where", "--with", "clever-api@adapt-strict-where"}, nil, ""},
	{"Semver that cannot be fudged: strict-where changes query.Find's signature, so v1.5.0 under-promises. (It exits 1.)",
		[]string{"semver", "clever-db", "--head", "strict-where", "--proposed", "v1.5.0"}, nil, ""},
	{"json-schema-converter's strict-where only adds ConvertStrict: a minor release is enough.",
		[]string{"semver", "json-schema-converter", "--head", "strict-where"}, nil, ""},
	{"adapt-strict-where also tightens the API's where schema. What would partners' requests start failing on?\n" +
		"# Each finding comes with an example request, checked against both schemas. (It exits 1: the change is breaking.)",
		[]string{"schema-diff", "clever-api@master:schemas/where.json", "clever-api@adapt-strict-where:schemas/where.json"}, nil, ""},
	{"And which partners actually send such requests? Replay a day of clever-api's request log through both schemas.",
		[]string{"replay", "--old", "clever-api@master:schemas/where.json", "--new", "clever-api@adapt-strict-where:schemas/where.json",
			"--field", "where", "--group-by", "partner", "{dir}/clever-api/logs/requests.jsonl"}, nil, ""},
	{"Plan the release: one manager, the scope frozen at today's heads, the order computed from the graph.",
		[]string{"plan", "new", "strict-where", "--title", "Strict where validation", "--manager", "alice",
			"--change", "clever-db@strict-where", "--change", "clever-api@adapt-strict-where",
			"--version", "clever-db=v2.0.0", "--version", "clever-api=v2.0.0", "--spec", "https://specs.clever.example/json-schema-validation"}, nil, ""},
	{"The plan as Markdown, to paste into the spec or the pull request.",
		[]string{"plan", "show", "strict-where", "--format", "markdown"}, nil, ""},
	{"Check the gates on a Friday morning: the window gate says no, and when the next window opens.\n" +
		"# (semver also fails: a v2 release of a Go module needs a /v2 module path.)",
		[]string{"plan", "check", "strict-where", "--at", "{friday}"}, nil, ""},
	{"Right before the release, someone pushes a \"quick fix\" to clever-api's branch.", nil,
		func(ctx context.Context, dir string) (string, error) {
			id, err := demo.PushQuickFix(ctx, dir)
			return "committed " + id[:12] + " to clever-api@adapt-strict-where", err
		}, `git -C clever-api commit -m "Quick fix: accept where fields in any case"  # on adapt-strict-where`},
	{"The scope gate lists the commit outside the frozen scope.",
		[]string{"plan", "check", "strict-where"}, nil, ""},
	{"The manager accepts it into the scope (recorded)...",
		[]string{"plan", "rescope", "strict-where", "--key", "{dir}/keys/alice", "--reason", "accept the case-insensitive fields fix"}, nil, ""},
	{"...and the performance gate catches what the fix does: the API got very, very slow.",
		[]string{"plan", "check", "strict-where"}, nil, ""},
	{"Release it step by step. Every action is signed with the person's SSH key; bob's key is not the manager's.\n" +
		"# (It exits 1, and the refusal is recorded.)",
		[]string{"release", "start", "strict-where", "--key", "{dir}/keys/bob"}, nil, ""},
	{"Not even alice may start it while gates fail: semver and performance say no. (It exits 1.)",
		[]string{"release", "start", "strict-where", "--key", "{dir}/keys/alice"}, nil, ""},
	{"Every refusal is in the audit log, signed by whoever was refused; each entry carries the hash of the one before.",
		[]string{"release", "log", "strict-where", "--verify"}, nil, ""},
	{"Meanwhile, district-sync has a small change of its own ready.", nil,
		func(ctx context.Context, dir string) (string, error) {
			id, err := demo.PrepareSyncCounts(ctx, dir)
			return "committed " + id[:12] + " to district-sync@sync-docs", err
		}, `git -C district-sync commit -m "sync: document Students"  # on sync-docs`},
	{"Its plan passes every gate, inside the demo's own release window (see cascade.yaml).",
		[]string{"plan", "new", "sync-docs", "--title", "Document district-sync", "--manager", "alice",
			"--change", "district-sync@sync-docs", "--version", "district-sync=v1.0.0"}, nil, ""},
	{"", []string{"plan", "check", "sync-docs"}, nil, ""},
	{"alice starts it, signed with her key; the gates run again and pass.",
		[]string{"release", "start", "sync-docs", "--key", "{dir}/keys/alice"}, nil, ""},
	{"Automated steps run (the gates, the tag) until one needs a person: the deploy.",
		[]string{"release", "next", "sync-docs", "--key", "{dir}/keys/alice"}, nil, ""},
	{"A step cannot be skipped: running on again stops at the same deploy step...",
		[]string{"release", "next", "sync-docs", "--key", "{dir}/keys/alice"}, nil, ""},
	{"...and only the manager may override it, with a reason. (bob: it exits 1, recorded.)",
		[]string{"release", "override", "sync-docs", "3", "--reason", "looks fine", "--key", "{dir}/keys/bob"}, nil, ""},
	{"alice deploys and confirms; the rest runs and the release is done.",
		[]string{"release", "confirm", "sync-docs", "3", "--key", "{dir}/keys/alice"}, nil, ""},
	{"", []string{"release", "next", "sync-docs", "--key", "{dir}/keys/alice"}, nil, ""},
	{"Every action, refusal included, is in the audit log, signed; --verify checks the hash chain, every signature,\n" +
		"# and the log's head, which each action also writes into plans/sync-docs.yaml (in git, reviewed).",
		[]string{"release", "log", "sync-docs", "--verify"}, nil, ""},
	{"Someone deletes the last entry of the log from the database...", nil,
		func(ctx context.Context, dir string) (string, error) {
			return demo.DeleteLastAuditEntry(ctx, dir)
		}, `sqlite3 .cascade/cascade.db "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)"`},
	{"...and --verify says so. (It exits 1.)",
		[]string{"release", "log", "sync-docs", "--verify"}, nil, ""},
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
		if code != ExitOK && code != ExitProblem {
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
