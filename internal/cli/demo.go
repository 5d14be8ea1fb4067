package cli

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/demo"
	"github.com/cascade-dev/cascade/internal/errkind"
)

func (a *app) demoCommand() *cobra.Command {
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
			file, err := demo.Build(a.ctx, dir)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Wrote %s. To run the commands yourself: cd %s\n", file, dir)
			return a.walk(file, dir, demoSteps)
		},
	}
	return cmd
}

// demoStep is one command of the walk-through, with what it shows.
type demoStep struct {
	say  string
	args []string
}

var demoSteps = []demoStep{
	{"Every repo, its modules and what it requires. Edges come from go.mod, package.json and catalog-info.yaml.",
		[]string{"graph"}},
	{"Who can a clever-db change break? district-sync is two steps away, through clever-api.",
		[]string{"downstream", "clever-db"}},
	{"And what district-sync stands on.",
		[]string{"upstream", "district-sync"}},
	{"npm packages count too: clever-js depends on @clever/schemas.",
		[]string{"downstream", "clever-schemas"}},
	{"Before merging clever-db's strict-where, build and test every downstream against it, alone and together with\n" +
		"# clever-api's fix branch. Real builds, offline; each paired with its baseline. (It exits 1: something regressed.)",
		[]string{"verify", "clever-db@strict-where", "--with", "clever-api@adapt-strict-where"}},
	{"Semver that cannot be fudged: strict-where changes query.Find's signature, so v1.5.0 under-promises. (It exits 1.)",
		[]string{"semver", "clever-db", "--head", "strict-where", "--proposed", "v1.5.0"}},
	{"json-schema-converter's strict-where only adds ConvertStrict: a minor release is enough.",
		[]string{"semver", "json-schema-converter", "--head", "strict-where"}},
	{"adapt-strict-where also tightens the API's where schema. What would partners' requests start failing on?\n" +
		"# Each finding comes with an example request, checked against both schemas. (It exits 1: the change is breaking.)",
		[]string{"schema-diff", "clever-api@master:schemas/where.json", "clever-api@adapt-strict-where:schemas/where.json"}},
	{"And which partners actually send such requests? Replay a day of clever-api's request log through both schemas.",
		[]string{"replay", "--old", "clever-api@master:schemas/where.json", "--new", "clever-api@adapt-strict-where:schemas/where.json",
			"--field", "where", "--group-by", "partner", "{dir}/clever-api/logs/requests.jsonl"}},
}

// walk runs each step against the workspace file, pausing between steps on
// a terminal.
func (a *app) walk(file, dir string, steps []demoStep) error {
	interactive := isTerminal(a.stdin) && isTerminal(a.stdout)
	in := bufio.NewReader(a.stdin)
	for i, s := range steps {
		stepArgs := make([]string, len(s.args))
		shown := make([]string, len(s.args))
		for i, arg := range s.args {
			stepArgs[i] = strings.ReplaceAll(arg, "{dir}", dir)
			shown[i] = strings.ReplaceAll(arg, "{dir}/", "")
		}
		fmt.Fprintf(a.stdout, "\n# %s\n$ cascade %s\n", s.say, strings.Join(shown, " "))
		args := append([]string{"--workspace", file}, stepArgs...)
		if a.cacheDir != "" {
			args = append([]string{"--cache-dir", a.cacheDir}, args...)
		}
		code := Main(a.ctx, args, a.stdin, a.stdout, a.stderr)
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
