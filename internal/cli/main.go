// Package cli is cascade's command line: one file per command, each a thin
// layer that parses flags, calls the packages that do the work and renders
// their results. Main is the whole program, so tests run it in-process.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	humanize "github.com/dustin/go-humanize"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/suggest"
	"github.com/cascade-dev/cascade/internal/trace"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// Exit codes, as the command-line contract defines them.
const (
	ExitOK      = 0
	ExitProblem = 1 // the check ran and found a problem
	ExitUsage   = 2 // bad usage or bad input
	ExitInfra   = 3 // git, go or npm could not run
	ExitWaiting = 4 // a release waits for a window or a person
	// ExitInterrupted is the shell's code for a command stopped by Ctrl-C.
	ExitInterrupted = 130
)

// ExitCode maps an error to the exit code the contract gives its kind.
func ExitCode(err error) int {
	switch errkind.Of(err) {
	case errkind.Invalid, errkind.NotFound:
		return ExitUsage
	case errkind.Problem, errkind.Conflict, errkind.Unauthorized:
		return ExitProblem
	case errkind.Waiting:
		return ExitWaiting
	}
	return ExitInfra
}

// app holds what every command shares: its streams and global flags.
type app struct {
	// hintKey is the --key this run signed with, added to the commands
	// it suggests (see withKey).
	hintKey string
	ctx     context.Context
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer

	getenv func(string) string

	workspaceFile string
	// server is the global --server: act through that cascade server.
	server   string
	cacheDir string
	// planDB is plan's --db: the state database holding the plans' audit
	// log (see stateDB).
	planDB  string
	fetch   bool
	noCache bool

	opts          Options
	unsafeSandbox bool
	sandboxDisk   string
	sandboxFiles  int64

	// quiet turns progress off; verbose logs every command run.
	quiet, verbose bool
	progMu         sync.Mutex
	active         *progress
	errMu          sync.Mutex
}

// Options are what a caller of the Go API injects instead of the real
// world: tests give a clock and a crash hook here; the shipped binary gives
// none and cascade uses the real time.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Crash is called at named points of a release step (the kill tests
	// stop the process there); nil in the shipped binary.
	Crash func(point string)
}

// Main runs cascade with args (without the program name) and returns the
// process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return MainWith(ctx, Options{}, args, stdin, stdout, stderr)
}

// MainWith is Main with injected options.
func MainWith(ctx context.Context, opts Options, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// Everything cascade prints may hold text from repositories (commit
	// subjects, branch names, test output): it reaches the terminal with
	// control and bidirectional characters escaped.
	out, errOut := report.Terminal(stdout), report.Terminal(stderr)
	defer out.Flush()
	defer errOut.Flush()
	counted := &countingWriter{w: out}
	stdout, stderr = counted, errOut
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, opts: opts}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	code, kind, msg := outcome(ctx, err)
	msg = a.withKey(msg)
	if msg != "" {
		fmt.Fprintln(stderr, msg)
	}
	// Under --json the error is a JSON document on stdout too, unless the
	// command already printed its own (a report that says what failed).
	if wantsJSON(cmd, args) && counted.n == 0 {
		text := strings.TrimPrefix(msg, "cascade: ")
		if msg == "" {
			text = err.Error()
		}
		writeErrorJSON(stdout, kind, text)
	}
	return code
}

// outcome is what a failed command's error means: its exit code, its kind
// (as JSON names it) and the line for stderr ("" when the command already
// reported its outcome).
func outcome(ctx context.Context, err error) (code int, kind, msg string) {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return ExitInterrupted, "interrupted", "cascade: interrupted"
	}
	text := err.Error()
	if strings.HasPrefix(text, "unknown command") && !strings.Contains(text, "; see `") {
		// cobra's own message (at the top level): on one line, as for
		// the commands below it.
		m, suggest, found := strings.Cut(text, "\n\nDid you mean this?\n")
		if found {
			m += "; did you mean " + strings.Join(strings.Fields(suggest), " or ") + "?"
		}
		return ExitUsage, errkind.Invalid.ID(), fmt.Sprintf("cascade: %s; see `cascade --help`", m)
	}
	code, kind = ExitCode(err), errkind.Of(err).ID()
	if strings.HasPrefix(text, "unknown flag") || strings.HasPrefix(text, "unknown command") {
		code, kind = ExitUsage, errkind.Invalid.ID()
	}
	var silent *silentError
	switch {
	case errors.As(err, &silent):
	case isCommandError(err):
		msg = text
	default:
		msg = "cascade: " + text
	}
	return code, kind, msg
}

// flagSuggestion is "; did you mean --json?" for an unknown flag of c
// that is near one c takes (its own, its parents' persistent ones), or "".
func flagSuggestion(c *cobra.Command, err error) string {
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return ""
	}
	name, _, _ = strings.Cut(name, "=")
	var known []string
	c.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			known = append(known, f.Name)
		}
	})
	c.InheritedFlags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden {
			known = append(known, f.Name)
		}
	})
	return suggest.DidYouMean(name, known, func(s string) string { return "--" + s })
}

// now is the time by the injected clock, or the real time.
func (a *app) now() time.Time {
	if a.opts.Now != nil {
		return a.opts.Now()
	}
	return time.Now()
}

// silentError carries an exit code for a command that already reported its
// outcome (a failed check prints its own report).
type silentError struct{ err error }

func (e *silentError) Error() string { return e.err.Error() }
func (e *silentError) Unwrap() error { return e.err }

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "cascade",
		Short: "Coordinate releases that span several repositories",
		Long: `cascade knows the dependency graph of a workspace's repositories (Go modules,
npm packages, catalog files) and makes a multi-repo release safe: it finds
every downstream of a change, verifies them against the candidate, computes
the semver bump a change needs, and plans and executes releases.

The workspace is described by cascade.yaml, found in the current directory or
a parent (or given with --workspace). Start with ` + "`cascade demo`" + `.

Exit codes: 0 all is well; 1 a check found a problem (or an action was
refused); 2 bad usage or input; 3 an infrastructure failure (git, go or npm
could not run, or a downstream could not be verified); 4 a release waits
(for a person or a release window); 130 interrupted.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&a.workspaceFile, "workspace", "", "the workspace `FILE` (default: cascade.yaml in the current directory or a parent)")
	root.PersistentFlags().StringVar(&a.cacheDir, "cache-dir", "", "the `DIR` where mirrors and caches live (default: the user cache directory's cascade/)")
	root.PersistentFlags().BoolVar(&a.fetch, "fetch", false, "update mirrors of url: repos from their remotes first")
	root.PersistentFlags().BoolVar(&a.noCache, "no-cache", false, "ignore cached results (they are still refreshed)")
	root.PersistentFlags().BoolVar(&a.unsafeSandbox, "unsafe-sandbox", false, "run builds, tests and steps without isolation (reports say so): only for a machine that cannot isolate them (see cascade sandbox check) and code you trust")
	root.PersistentFlags().StringVar(&a.sandboxDisk, "sandbox-disk", "8GiB", "the disk each sandboxed command may fill in total, a `SIZE` such as 512MiB or 20GiB (its work tree's growth, overlays, /tmp and HOME); past it the command is killed and its result is an error")
	root.PersistentFlags().Int64Var(&a.sandboxFiles, "sandbox-files", sandbox.DefaultInodes, "the files and directories each sandboxed command may make in total, a `COUNT` (in its work tree, overlays, /tmp and HOME); past it the command is killed and its result is an error")
	root.PersistentFlags().StringVar(&a.server, "server", "", "act through the cascade server at `URL` with the token `cascade login` stored for it (default: $CASCADE_SERVER)")
	root.PersistentFlags().BoolVarP(&a.quiet, "quiet", "q", false, "show no progress on stderr")
	root.PersistentFlags().BoolVar(&a.verbose, "verbose", false, "log every command cascade runs (git, builds, tests, benchmarks) to stderr")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := applyOutputFlags(cmd); err != nil {
			return err
		}
		if err := checkClientMode(cmd, a.server, a.getenv("CASCADE_SERVER")); err != nil {
			return err
		}
		if a.verbose {
			a.ctx = trace.WithCommands(a.ctx, a.logCommand)
		}
		sandbox.AllowUnsafe(a.unsafeSandbox)
		n, err := humanize.ParseBytes(a.sandboxDisk)
		if err != nil || n < 1<<20 || n > 1<<50 {
			return errkind.New(errkind.Invalid, "--sandbox-disk %q: want a size of at least 1MiB, such as 512MiB or 20GiB", a.sandboxDisk)
		}
		sandbox.SetDiskLimit(int64(n))
		if a.sandboxFiles < 1000 || a.sandboxFiles > 1<<32 {
			return errkind.New(errkind.Invalid, "--sandbox-files %d: want a count of files of at least 1000 (the default is %d)", a.sandboxFiles, sandbox.DefaultInodes)
		}
		sandbox.SetInodeLimit(a.sandboxFiles)
		return nil
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		var value *flagValueError
		if errors.As(err, &value) {
			return errkind.Wrap(errkind.Invalid, value)
		}
		return errkind.New(errkind.Invalid, "%v%s; see `%s --help`", err, flagSuggestion(c, err), c.CommandPath())
	})
	root.AddCommand(
		a.initCommand(),
		a.graphCommand(),
		a.reachCommand("downstream"),
		a.reachCommand("upstream"),
		a.verifyCommand(),
		a.semverCommand(),
		a.schemaDiffCommand(),
		a.replayCommand(),
		a.planCommand(),
		a.releaseCommand(),
		a.demoCommand(),
		a.sandboxCommand(),
		a.versionCommand(),
		a.checkCommand(),
		a.serveCommand(),
		a.loginCommand(),
		a.tokenCommand(),
	)
	v, rev := versionInfo()
	if rev != "" {
		v += " (" + rev + ")"
	}
	root.Version = v
	root.SetVersionTemplate("cascade {{.Version}}\n")
	root.SetHelpCommand(a.helpCommand())
	// cobra adds `completion` when it runs: added now, its unknown shells
	// are refused like any unknown subcommand.
	root.InitDefaultCompletionCmd()
	refuseUnknownSubcommands(root)
	a.registerCompletions(root)
	return root
}

// refuseUnknownSubcommands makes every command that only groups others
// (cascade plan, cascade release, ...) refuse an unknown subcommand with
// exit 2 and the nearest names, instead of printing its help and exiting
// 0; without arguments it prints its help.
func refuseUnknownSubcommands(c *cobra.Command) {
	for _, sub := range c.Commands() {
		refuseUnknownSubcommands(sub)
	}
	if c.Parent() == nil || !c.HasSubCommands() || c.Runnable() {
		return
	}
	c.Args = cobra.ArbitraryArgs
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
		if cmd.SuggestionsMinimumDistance <= 0 {
			cmd.SuggestionsMinimumDistance = 2
		}
		if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
			msg += "; did you mean " + strings.Join(s, " or ") + "?"
		}
		return errkind.New(errkind.Invalid, "%s; see `%s --help`", msg, cmd.CommandPath())
	}
}

func (a *app) cache() (string, error) {
	if a.cacheDir != "" {
		return filepath.Abs(a.cacheDir)
	}
	if d := a.getenv("CASCADE_CACHE_DIR"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", errkind.New(errkind.Invalid, "no user cache directory (%v); pass --cache-dir", err)
	}
	return filepath.Join(d, "cascade"), nil
}

// loadWorkspace finds and parses cascade.yaml.
func (a *app) loadWorkspace() (*workspace.Workspace, error) {
	file := a.workspaceFile
	if file == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, err
		}
		if file, err = workspace.Find(wd); err != nil {
			return nil, err
		}
	}
	return workspace.Load(file)
}

// loadGraph scans the workspace and builds its graph, printing warnings
// to stderr.
func (a *app) loadGraph() (*workspace.Workspace, *graph.Workspace, error) {
	ws, err := a.loadWorkspace()
	if err != nil {
		return nil, nil, err
	}
	cache, err := a.cache()
	if err != nil {
		return nil, nil, err
	}
	repos, err := scan.Workspace(a.ctx, ws, scan.Options{CacheDir: cache, Fetch: a.fetch, NoCache: a.noCache})
	if err != nil {
		return nil, nil, err
	}
	g := graph.Build(repos)
	for _, w := range append(ws.Warnings, g.Warnings...) {
		fmt.Fprintf(a.stderr, "warning: %s\n", w)
	}
	return ws, g, nil
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := raw(w).(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// raw is the stream under a sanitising writer, for a progress line's own
// cursor movements.
func raw(w any) any {
	if t, ok := w.(*report.TerminalWriter); ok {
		return t.Underlying()
	}
	return w
}
