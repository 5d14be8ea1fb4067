package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/verify"
	"github.com/cascade-dev/cascade/internal/workspace"
)

func (a *app) verifyCommand() *cobra.Command {
	var (
		opt              verify.Options
		format           string
		junit, markdown  string
		jobs             int
		retries          int
		timeout          time.Duration
		with, only, tier []string
	)
	cmd := &cobra.Command{
		Use:   "verify REPO[@REF]",
		Short: "Build and test every downstream against an upstream candidate",
		Long: `Build and test every downstream of REPO against the candidate REF (a branch,
tag, commit, or a local directory such as ./work-in-progress), each paired
with its baseline: the downstream at its default branch with what it requires
today. Each downstream gets a verdict:

  passed     passes at the baseline and with the candidate
  regressed  passes at the baseline, fails with the candidate on every
             attempt (a candidate that times out where the baseline
             finished is a regression too)
  flaky      fails with the candidate, then passes on a retry (the test
             that failed is named, with that attempt's command and log)
  fixed      fails at the baseline, passes with the candidate
  broken     fails with the candidate exactly as at the baseline: not this
             change's fault
  skipped    imports nothing the change touched (Go), or does not depend on
             it; a module cascade cannot read is never skipped
  error      could not be verified: the baseline timed out, a tool could not
             run, a manifest cannot be read, or both sides fail and the
             test runner does not name its tests

Builds and tests are compared stage by stage and test by test (go test
-json; TAP, JUnit or JSON from npm test runners). A baseline that fails is
tried again; one that then passes is shown as "flaky" in the BASELINE
column. Results are cached by everything they depend on (see the README);
timeouts and infrastructure failures are never cached.

--with REPO@REF adds refs that ship together (a downstream's fix branch, or
another upstream candidate): every affected downstream is then verified with
the candidate alone and with the whole change set, and the report says which
merge order is safe.

Settings may also come from PLUGIN_* variables (PLUGIN_UPSTREAM, PLUGIN_WITH,
PLUGIN_JUNIT, ...), so the command works as a Drone or Woodpecker plugin.

Exit codes: 0 every downstream verified and none regressed (flaky and
broken are reported, not failed); 1 a downstream regressed; else 2 bad
input (also a downstream's manifest that cannot be read); else 3 a
downstream could not be verified (an error verdict): never read as safe.`,
		Example: `  cascade verify clever-db@strict-where
  cascade verify clever-db@strict-where --with clever-api@adapt-strict-where
  cascade verify clever-db@./work-in-progress --only clever-api --json
  cascade verify clever-db@feature --junit verify.xml --markdown comment.md`,
		Args: a.usageArgsOr("PLUGIN_UPSTREAM"),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if err := a.pluginSettings(cmd); err != nil {
				return err
			}
			if err := applyOutputFlags(cmd); err != nil { // PLUGIN_JSON
				return err
			}
			switch {
			case len(argv) == 1:
				opt.Upstream = argv[0]
			case a.getenv("PLUGIN_UPSTREAM") != "":
				opt.Upstream = a.getenv("PLUGIN_UPSTREAM")
			default:
				return argError(cmd, "missing REPO[@REF] (or PLUGIN_UPSTREAM)")
			}
			switch format {
			case "text", "json", "markdown":
			default:
				return errkind.New(errkind.Invalid, "unknown format %q; use text, json or markdown", format)
			}
			if retries < 0 || jobs < 0 || timeout < 0 {
				return errkind.New(errkind.Invalid, "--retries, --jobs and --timeout must not be negative")
			}
			for flag, file := range map[string]string{"--junit": junit, "--markdown": markdown} {
				if err := checkWritable(flag, file); err != nil {
					return err
				}
			}
			_, g, err := a.loadGraph()
			if err != nil {
				return err
			}
			cache, err := a.cache()
			if err != nil {
				return err
			}
			wd, _ := os.Getwd()
			opt.With, opt.Only, opt.Tiers = with, only, tier
			opt.Jobs, opt.Retries, opt.Timeout = jobs, retries, timeout
			opt.CacheDir, opt.NoCache, opt.BaseDir = cache, a.noCache, wd
			prog := a.newProgress("verify", 0)
			opt.Progress = a.verifyProgress(prog)
			rep, err := verify.Verify(a.ctx, g, opt)
			prog.stop()
			if err != nil {
				return err
			}
			switch format {
			case "json":
				err = report.JSON(a.stdout, rep)
			case "markdown":
				err = report.VerifyMarkdown(a.stdout, rep)
			default:
				err = report.VerifyText(a.stdout, rep)
			}
			if err != nil {
				return err
			}
			if junit != "" {
				if err := writeReport(junit, func(b *bytes.Buffer) error { return report.VerifyJUnit(b, rep) }); err != nil {
					return err
				}
			}
			if markdown != "" {
				if err := writeReport(markdown, func(b *bytes.Buffer) error { return report.VerifyMarkdown(b, rep) }); err != nil {
					return err
				}
			}
			switch verify.Assess(rep).Exit {
			case 2:
				return errkind.New(errkind.Invalid, "some downstreams could not be verified:\n  %s", strings.Join(rep.Problems, "\n  "))
			case 1:
				return &silentError{errkind.New(errkind.Problem, "a downstream regressed")}
			case 3:
				return &silentError{errkind.New(errkind.Infra, "some downstreams could not be verified")}
			}
			return nil
		},
	}
	f := cmd.Flags()
	refList(f, &with, "with", "a ref that ships with the candidate, `REPO@REF` (repeatable)", "a change set ships a branch, tag, commit or directory of each repo")
	commaList(f, &only, "only", "verify only this downstream `REPO`, or tier:NAME (repeatable)")
	commaList(f, &tier, "tier", "verify only downstreams of this `TIER` (repeatable)")
	f.BoolVar(&opt.Direct, "direct", false, "verify only direct downstreams")
	f.IntVar(&jobs, "jobs", 0, "the number `N` of downstreams verified at once (default: the number of cores)")
	f.IntVar(&retries, "retries", 2, "the number `N` of retries of a failing candidate, to tell flakes from regressions")
	f.DurationVar(&timeout, "timeout", 10*time.Minute, "the time limit, a `DURATION` such as 10m, of each build or test command")
	f.BoolVar(&opt.AllPackages, "all-packages", false, "test every package, not only those that import a changed package")
	outputFormat(cmd, &format, "text", "json", "markdown")
	f.StringVar(&junit, "junit", "", "also write a JUnit XML report to `FILE`")
	f.StringVar(&markdown, "markdown", "", "also write a Markdown report (for a pull-request comment) to `FILE`")
	return cmd
}

// pluginSettings fills every flag not given on the command line from its
// PLUGIN_NAME variable (Drone and Woodpecker pass plugin settings so).
func (a *app) pluginSettings(cmd *cobra.Command) error {
	var err error
	set := func(fl *pflag.Flag) {
		if fl.Changed || err != nil {
			return
		}
		name := "PLUGIN_" + strings.ToUpper(strings.ReplaceAll(fl.Name, "-", "_"))
		if v := a.getenv(name); v != "" {
			var serr error
			if list, ok := fl.Value.(*listValue); ok {
				serr = list.SetList(v) // lists are comma-separated (docs/ci.md)
			} else {
				serr = fl.Value.Set(v)
			}
			if serr != nil {
				err = errkind.New(errkind.Invalid, "%s=%q is not a valid value for --%s (a %s): %v", name, v, fl.Name, fl.Value.Type(), serr)
			}
			fl.Changed = true
		}
	}
	cmd.Flags().VisitAll(set)
	cmd.InheritedFlags().VisitAll(set)
	if err != nil {
		return err
	}
	// Inherited flags are bound to the app's fields by the root command.
	if v := a.getenv("PLUGIN_WORKSPACE"); v != "" && a.workspaceFile == "" {
		a.workspaceFile = v
	}
	return nil
}

// checkWritable makes sure a report file can be written before a long run:
// its directory exists and it is not a directory itself.
func checkWritable(flag, file string) error {
	if file == "" {
		return nil
	}
	if fi, err := os.Stat(file); err == nil && fi.IsDir() {
		return errkind.New(errkind.Invalid, "%s %s is a directory; name a file in it", flag, file)
	}
	dir := filepath.Dir(file)
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return errkind.New(errkind.Invalid, "%s %s: directory %s does not exist; create it or name another file", flag, file, dir)
	}
	return nil
}

func writeReport(file string, render func(*bytes.Buffer) error) error {
	var b bytes.Buffer
	if err := render(&b); err != nil {
		return err
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return err
	}
	if err := workspace.WriteFile(abs, b.Bytes(), 0o644); err != nil {
		return errkind.New(errkind.Invalid, "cannot write %s: %v", file, err)
	}
	return nil
}

// verifyProgress reports each downstream verified (see progress).
func (a *app) verifyProgress(p *progress) func(verify.Progress) {
	if p == nil {
		return nil
	}
	return func(e verify.Progress) {
		p.setTotal(e.Total)
		unit := e.Repo + " (" + e.State + ")"
		if e.Result == nil {
			p.begin(unit)
			return
		}
		p.finish(unit, e.Result.Verdict, time.Duration(e.Result.DurationMS)*time.Millisecond)
	}
}
