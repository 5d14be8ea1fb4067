package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/view"
	"github.com/cascade-dev/cascade/internal/workspace"
)

type releaseFlags struct {
	db  string
	key string
}

func (a *app) releaseCommand() *cobra.Command {
	rf := &releaseFlags{}
	cmd := &cobra.Command{
		Use:   "release",
		Short: "Execute a plan's runbooks step by step: resumable, locked, audited",
		Long: `Walk a plan's repos in release order and execute each repo's runbook
(.cascade.yaml release.steps, or the default: gates, tag the version, a manual
deploy, verify downstream) one step at a time. Automated steps run; manual
steps wait for the release manager to confirm; nothing is skipped without a
recorded override; after a crash, ` + "`release next`" + ` resumes where it stopped.

  cascade release start PLAN [--key FILE]
  cascade release status PLAN [--json]
  cascade release next PLAN [--key FILE]
  cascade release confirm PLAN STEP [--input k=v]... [--key FILE]
  cascade release confirm PLAN STEP --amend --input k=v... --reason TEXT
  cascade release retry PLAN STEP [--key FILE]
  cascade release override PLAN STEP --reason TEXT [--key FILE]
  cascade release override-gate PLAN GATE --reason TEXT [--key FILE]
  cascade release abort PLAN --reason TEXT [--key FILE]
  cascade release log PLAN [--verify] [--json]
  cascade release unlock REPO --reason TEXT [--key FILE]

The actor is whoever signs: when cascade.yaml lists people, every action is
signed with --key (ssh-keygen -Y sign, namespace cascade-release) and the
signer is found among the people's keys; only the plan's manager may act on
its release (unlock: any person, with a reason). Without people, the actor
is your user name and status and log say actors are unverified.

STEP is a step's number, its name, or REPO:NAME. State is kept in SQLite
(--db, default .cascade/cascade.db beside cascade.yaml).`,
	}
	cmd.PersistentFlags().StringVar(&rf.db, "db", "", dbFlagHelp)
	cmd.PersistentFlags().StringVar(&rf.key, "key", "", "your SSH private key `FILE` to sign the action with (or a .pub file whose key is in ssh-agent); needed when cascade.yaml lists people (default: $CASCADE_SIGNING_KEY, else git config --global user.signingkey)")
	cmd.AddCommand(
		a.releaseStart(rf), a.releaseStatus(rf), a.releaseNext(rf), a.releaseConfirm(rf), a.releaseRetry(rf),
		a.releaseOverride(rf), a.releaseOverrideGate(rf), a.releaseAbort(rf), a.releaseLog(rf), a.releaseUnlock(rf),
	)
	return cmd
}

// dbFlagHelp describes the --db of release and plan.
const dbFlagHelp = "the state database: a `FILE`, sqlite:FILE or postgres://USER@HOST/DB (default: $CASCADE_DB, else .cascade/cascade.db beside cascade.yaml)"

// stateDB is the state database a command uses: its --db flag, else
// $CASCADE_DB, else .cascade/cascade.db beside cascade.yaml. Release and
// plan commands read the same one, so a plan's gates see the overrides
// and re-freezes its release recorded.
func (a *app) stateDB(ws *workspace.Workspace, flag string) string {
	if flag != "" {
		return flag
	}
	if env := a.getenv("CASCADE_DB"); env != "" {
		return env
	}
	return filepath.Join(ws.Dir, ".cascade", "cascade.db")
}

// engine opens the workspace, the graph (when needed) and the database.
func (a *app) engine(rf *releaseFlags, needGraph bool) (*release.Engine, *workspace.Workspace, func(), error) {
	ws, err := a.loadWorkspace()
	if err != nil {
		return nil, nil, nil, err
	}
	var g *graph.Workspace
	if needGraph {
		// The gates an action runs read url: repos from their mirrors:
		// those are brought up to date first, so a branch pushed since
		// the last fetch cannot pass the scope gate unseen.
		a.fetch = true
		if _, g, err = a.loadGraph(); err != nil {
			return nil, nil, nil, err
		}
	}
	st, err := store.Open(a.ctx, a.stateDB(ws, rf.db))
	if err != nil {
		return nil, nil, nil, err
	}
	cache, err := a.cache()
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	e := &release.Engine{Store: st, WS: ws, G: g, CacheDir: cache, Now: a.now, Crash: a.opts.Crash, LookupEnv: os.LookupEnv,
		Log: func(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }}
	return e, ws, func() { st.Close() }, nil
}

// act is an action a person takes: what they sign. more adds arguments
// read from the workspace (the plan's scope), lockedPlan finds the plan
// from a repo's lock (unlock).
type act struct {
	plan, action string
	args         map[string]string
	more         func(ws *workspace.Workspace) (map[string]string, error)
	lockedRepo   string
}

// withEngine runs fn with an open engine and, for an action, the actor:
// the person whose key signed it, or (without people in cascade.yaml) the
// user name, unverified.
func (a *app) withEngine(rf *releaseFlags, needGraph bool, action *act, fn func(e *release.Engine, ws *workspace.Workspace, as string) error) error {
	e, ws, done, err := a.engine(rf, needGraph)
	if err != nil {
		return err
	}
	defer done()
	var as string
	if action != nil {
		planID := action.plan
		if action.lockedRepo != "" {
			if planID, err = e.LockedPlan(a.ctx, action.lockedRepo); err != nil {
				return err
			}
		}
		args := map[string]string{}
		for k, v := range action.args {
			args[k] = v
		}
		if action.more != nil {
			more, err := action.more(ws)
			if err != nil {
				return err
			}
			for k, v := range more {
				args[k] = v
			}
		}
		if as, err = a.signAs(e, ws, rf.key, planID, action.action, args); err != nil {
			return err
		}
	}
	return fn(e, ws, as)
}

// signAs signs an action on planID for e: the statement pins the plan's
// audit history and the database's log (when the workspace lists
// people), and the entries the action writes one by one are signed with
// the same key. It returns the actor.
func (a *app) signAs(e *release.Engine, ws *workspace.Workspace, key, planID, action string, args map[string]string) (string, error) {
	if len(ws.People) > 0 {
		// A key given with --key is repeated in the commands this run
		// suggests; one from the environment needs no repeating.
		if key == "" {
			key = a.defaultSigningKey()
		} else if a.hintKey == "" {
			a.hintKey = key
		}
		var err error
		if args["head"], args["log"], err = e.Pin(a.ctx, planID); err != nil {
			return "", err
		}
	}
	sig, name, err := a.whoActs(ws, key, planID, action, args)
	if err != nil {
		return "", err
	}
	e.Signature = sig
	if sig != nil {
		e.Sign = func(ctx context.Context, stmt string) (*identity.Signature, error) {
			return identity.Sign(ctx, key, strings.HasSuffix(key, ".pub"), stmt)
		}
	}
	return name, nil
}

// withKey adds --key to the release and re-freeze commands text suggests
// (cascade release next p, cascade plan rescope p ...) when this run was
// signed with --key: pasted, they sign with the same key.
func (a *app) withKey(text string) string {
	if a.hintKey == "" || text == "" {
		return text
	}
	return suggested.ReplaceAllStringFunc(text, func(cmd string) string {
		if strings.Contains(cmd, "--key") || strings.Contains(cmd, "release log") || strings.Contains(cmd, "release status") {
			return cmd
		}
		return strings.TrimRight(cmd, " ") + " --key " + shellWord(a.hintKey)
	})
}

// suggested matches a release action or a re-freeze cascade suggests, to
// the end of the command (a closing backquote, a line's end or a parenthesis).
var suggested = regexp.MustCompile("cascade (release (start|next|confirm|retry|override|override-gate|abort|unlock)|plan rescope) [^`\n()]*")

// defaultSigningKey is the key a person signs with when --key is not
// given: $CASCADE_SIGNING_KEY, else the user's own git signing key (git
// config --global user.signingkey, when it names a key file; a repo's
// config is not read, so no repository chooses the key). "" when neither
// is set.
func (a *app) defaultSigningKey() string {
	if k := os.Getenv("CASCADE_SIGNING_KEY"); k != "" {
		return expandHome(k)
	}
	out, err := exec.CommandContext(a.ctx, "git", "config", "--global", "--get", "user.signingkey").Output()
	if err != nil {
		return ""
	}
	k := strings.TrimSpace(string(out))
	if k == "" || strings.HasPrefix(k, "key::") || strings.HasPrefix(k, "ssh-") {
		return "" // a literal key, not a file ssh-keygen can sign with
	}
	return expandHome(k)
}

func expandHome(p string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// whoActs signs the statement of an action with the key and finds whose
// it is among the workspace's people. Without people, the actor is the
// user name, unverified.
func (a *app) whoActs(ws *workspace.Workspace, key, planID, action string, args map[string]string) (*identity.Signature, string, error) {
	if len(ws.People) == 0 {
		as := a.userName()
		if as == "" {
			return nil, "", errkind.New(errkind.Invalid, "cannot tell who you are: no user name, and cascade.yaml lists no people")
		}
		fmt.Fprintf(a.stderr, "cascade: actors unverified: cascade.yaml lists no people, so this action is recorded as %s without a signature\n", as)
		return nil, as, nil
	}
	stmt := identity.Statement(planID, action, a.now().UTC().Format(time.RFC3339Nano), args)
	sig, err := identity.Sign(a.ctx, key, strings.HasSuffix(key, ".pub"), stmt)
	if err != nil {
		return nil, "", err
	}
	name, err := identity.Signer(a.ctx, ws.People, sig)
	if err != nil {
		return nil, "", err
	}
	return sig, name, nil
}

func (a *app) releaseStart(rf *releaseFlags) *cobra.Command {
	var again bool
	var reason string
	cmd := &cobra.Command{
		Use:   "start PLAN",
		Short: "Start a release of a plan (the release manager only, every gate passing); locks its repos",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			if again != (reason != "") {
				return errkind.New(errkind.Invalid, "--again and --reason go together: `cascade release start %s --again --reason TEXT` starts a plan released before again, and records why", argv[0])
			}
			args := map[string]string{}
			if again {
				args["again"] = reason
			}
			return a.withEngine(rf, true, &act{plan: argv[0], action: "start", args: args, more: scopeOf(argv[0])}, func(e *release.Engine, ws *workspace.Workspace, as string) error {
				p, err := plan.Load(ws, argv[0])
				if err != nil {
					return err
				}
				if err := checkManager(ws, p); err != nil {
					return err
				}
				e.Again = reason
				st, err := e.Start(a.ctx, p, as)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, a.withKey(fmt.Sprintf("started the release of %s as %s (%s); run `cascade release next %s`", p.ID, as, plural.Count(len(st.Steps), "step"), p.ID)))
				return report.ReleaseStatus(a.stdout, st, ws.Policy.Location)
			})
		},
	}
	cmd.Flags().BoolVar(&again, "again", false, "start a plan whose release is done again (with --reason; recorded)")
	cmd.Flags().StringVar(&reason, "reason", "", "why the plan is released again, a `TEXT` (with --again)")
	return cmd
}

func (a *app) releaseStatus(rf *releaseFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status PLAN",
		Short: "Show every step of a plan's release with its state, who, when and output",
		Long: `Show every step of a plan's release with its state, who, when and output.

The rows are checked against the release's audit log (its hashes and, with
people, its signatures) and the head plans/PLAN.yaml records, as every
release action checks them before acting. Rows that do not match are still
shown, under a WARNING naming the first difference, and status exits 1
(with --json: a "tampered" field); run ` + "`cascade release log PLAN --verify`" + ` for the
whole log.`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			if r, err := a.remoteServer(); err != nil || r != nil {
				if err != nil {
					return err
				}
				var st release.Status
				printed, err := a.fetchDoc(r, "/api/v1/releases/"+pathSeg(argv[0]), asJSON, &st)
				if err != nil {
					return err
				}
				if !printed {
					if st.Tampered != "" {
						fmt.Fprintf(a.stdout, "WARNING: %s\nThe rows below are what the database says, not what happened.\n\n", st.Tampered)
					}
					if !st.ActorsVerified {
						fmt.Fprintln(a.stdout, "actors unverified: cascade.yaml lists no people")
					}
					err = report.ReleaseStatus(a.stdout, &st, a.remoteLocation())
				}
				if err == nil && st.Tampered != "" {
					return &silentError{errkind.New(errkind.Problem, "%s", st.Tampered)}
				}
				return err
			}
			return a.withEngine(rf, false, nil, func(e *release.Engine, ws *workspace.Workspace, _ string) error {
				st, err := e.Checked(a.ctx, argv[0])
				if err != nil {
					return err
				}
				if asJSON {
					err = report.JSON(a.stdout, st)
				} else {
					if st.Tampered != "" {
						fmt.Fprintf(a.stdout, "WARNING: %s\nThe rows below are what the database says, not what happened.\n\n", st.Tampered)
					}
					if len(ws.People) == 0 {
						fmt.Fprintln(a.stdout, "actors unverified: cascade.yaml lists no people")
					}
					err = report.ReleaseStatus(a.stdout, st, ws.Policy.Location)
				}
				if err == nil && st.Tampered != "" {
					return &silentError{errkind.New(errkind.Problem, "%s", st.Tampered)}
				}
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func (a *app) releaseNext(rf *releaseFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "next PLAN",
		Short: "Run automated steps until one needs a person, fails, or the release ends",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.withEngine(rf, true, &act{plan: argv[0], action: "next"}, func(e *release.Engine, ws *workspace.Workspace, as string) error {
				p, err := plan.Load(ws, argv[0])
				if err != nil {
					return err
				}
				stop, err := e.Next(a.ctx, p, as)
				if err != nil {
					return err
				}
				stop.Message = a.withKey(stop.Message)
				if err := report.ReleaseStop(a.stdout, stop); err != nil {
					return err
				}
				if stop.Step != nil && stop.Step.State == release.Failed {
					return &silentError{errkind.New(errkind.Problem, "a step failed")}
				}
				if stop.Held {
					return &silentError{errkind.New(errkind.Problem, "a gate holds the release")}
				}
				if stop.Waiting {
					return &silentError{errkind.New(errkind.Waiting, "the release waits for a window")}
				}
				if stop.Person {
					return &silentError{errkind.New(errkind.Waiting, "the release waits for a person")}
				}
				return nil
			})
		},
	}
}

func (a *app) releaseConfirm(rf *releaseFlags) *cobra.Command {
	var inputs []string
	var amend bool
	var reason string
	cmd := &cobra.Command{
		Use:   "confirm PLAN STEP",
		Short: "Confirm a manual step (or an interrupted tag) as done, with its inputs",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			in := map[string]string{}
			for _, kv := range inputs {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return errkind.New(errkind.Invalid, "--input %q: write NAME=VALUE", kv)
				}
				in[k] = v
			}
			if r, err := a.remoteServer(); err != nil || r != nil {
				if err != nil {
					return err
				}
				if amend {
					return errkind.New(errkind.Invalid, "--amend does not act through a server yet; run it without --server")
				}
				if reason != "" {
					return errkind.New(errkind.Invalid, "--reason goes with --amend")
				}
				_, s, err := a.remoteAction(r, argv[0], "confirm", argv[1], map[string]any{"inputs": in})
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, fmt.Sprintf("confirmed step %d (%s) as %s; run `cascade release next %s`", s.Index, s.Name, r.person, argv[0]))
				return nil
			}
			action := "confirm"
			if amend {
				action = "amend"
			} else if reason != "" {
				return errkind.New(errkind.Invalid, "--reason goes with --amend")
			}
			return a.withEngine(rf, true, &act{plan: argv[0], action: action, args: map[string]string{"step": argv[1], "inputs": strings.Join(inputs, "\n"), "reason": reason}}, func(e *release.Engine, _ *workspace.Workspace, as string) error {
				if amend {
					s, err := e.Amend(a.ctx, argv[0], argv[1], as, in, reason)
					if err != nil {
						return err
					}
					fmt.Fprintf(a.stdout, "amended the inputs of step %d (%s) as %s: %s (recorded); a later step retried now uses them\n", s.Index, s.Name, as, reason)
					return nil
				}
				s, err := e.Confirm(a.ctx, argv[0], argv[1], as, in)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, a.withKey(fmt.Sprintf("confirmed step %d (%s) as %s; run `cascade release next %s`", s.Index, s.Name, as, argv[0])))
				return nil
			})
		},
	}
	cmd.Flags().StringArrayVar(&inputs, "input", nil, "a value the step asks for, `NAME=VALUE` (repeatable)")
	cmd.Flags().BoolVar(&amend, "amend", false, "correct the inputs of a step confirmed before (with --input and --reason; recorded)")
	cmd.Flags().StringVar(&reason, "reason", "", "why the inputs are amended, a `TEXT` (recorded)")
	return cmd
}

func (a *app) releaseRetry(rf *releaseFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "retry PLAN STEP",
		Short: "Set a failed or interrupted step back to pending, to run it again",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			if r, err := a.remoteServer(); err != nil || r != nil {
				if err != nil {
					return err
				}
				_, s, err := a.remoteAction(r, argv[0], "retry", argv[1], nil)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, fmt.Sprintf("step %d (%s) will run again on `cascade release next %s`", s.Index, s.Name, argv[0]))
				return nil
			}
			return a.withEngine(rf, false, &act{plan: argv[0], action: "retry", args: map[string]string{"step": argv[1]}}, func(e *release.Engine, _ *workspace.Workspace, as string) error {
				s, err := e.Retry(a.ctx, argv[0], argv[1], as)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, a.withKey(fmt.Sprintf("step %d (%s) will run again on `cascade release next %s`", s.Index, s.Name, argv[0])))
				return nil
			})
		},
	}
}

func (a *app) releaseOverride(rf *releaseFlags) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "override PLAN STEP --reason TEXT",
		Short: "Skip a failed or pending step, recording who and why",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			if r, err := a.remoteServer(); err != nil || r != nil {
				if err != nil {
					return err
				}
				_, s, err := a.remoteAction(r, argv[0], "override", argv[1], map[string]any{"reason": reason})
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "overrode step %d (%s) as %s: %s\n", s.Index, s.Name, r.person, reason)
				return nil
			}
			return a.withEngine(rf, false, &act{plan: argv[0], action: "override", args: map[string]string{"step": argv[1], "reason": reason}}, func(e *release.Engine, _ *workspace.Workspace, as string) error {
				s, err := e.Override(a.ctx, argv[0], argv[1], as, reason)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "overrode step %d (%s) as %s: %s\n", s.Index, s.Name, as, reason)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the step is skipped, a `TEXT` (recorded)")
	return cmd
}

func (a *app) releaseOverrideGate(rf *releaseFlags) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "override-gate PLAN GATE --reason TEXT",
		Short: "Let a failed gate of a plan pass for its current frozen scope (the release manager only; recorded)",
		Long: `Let a failed gate (window, freeze, manager, scope, semver, downstream or
performance) of a plan pass: ` + "`release start`" + ` and the checks before each step
then treat it as overridden. Only the plan's release manager may; the reason
is recorded in the audit log and in the plan file, and shown by
` + "`release status`" + ` and ` + "`plan show --format markdown`" + `. The override holds
for the plan's current frozen scope only: a re-freeze or a new version needs
a new one.`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.withEngine(rf, true, &act{plan: argv[0], action: "override-gate", args: map[string]string{"gate": argv[1], "reason": reason}, more: scopeOf(argv[0])}, func(e *release.Engine, ws *workspace.Workspace, as string) error {
				p, err := plan.Load(ws, argv[0])
				if err != nil {
					return err
				}
				if err := checkManager(ws, p); err != nil {
					return err
				}
				if err := e.OverrideGate(a.ctx, p, argv[1], as, reason, func(p *plan.Plan) error { return p.Save(ws) }); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "overrode the %s gate of %s as %s: %s (recorded)\n", argv[1], p.ID, as, reason)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the gate may pass, a `TEXT` (recorded)")
	return cmd
}

func (a *app) releaseAbort(rf *releaseFlags) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "abort PLAN --reason TEXT",
		Short: "Abort a release and release its locks",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			if r, err := a.remoteServer(); err != nil || r != nil {
				if err != nil {
					return err
				}
				st, _, err := a.remoteAction(r, argv[0], "abort", "", map[string]any{"reason": reason})
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "aborted the release of %s: %s\n", argv[0], reason)
				return report.Undo(a.stdout, release.WhatItDid(st))
			}
			return a.withEngine(rf, false, &act{plan: argv[0], action: "abort", args: map[string]string{"reason": reason}}, func(e *release.Engine, _ *workspace.Workspace, as string) error {
				st, err := e.Abort(a.ctx, argv[0], as, reason)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "aborted the release of %s: %s\n", argv[0], reason)
				return report.Undo(a.stdout, release.WhatItDid(st))
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, a `TEXT` (recorded)")
	return cmd
}

func (a *app) releaseUnlock(rf *releaseFlags) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "unlock REPO --reason TEXT",
		Short: "Remove a repo's release lock in an emergency: any person, with a reason (audited)",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.withEngine(rf, false, &act{action: "unlock", args: map[string]string{"repo": argv[0], "reason": reason}, lockedRepo: argv[0]}, func(e *release.Engine, _ *workspace.Workspace, as string) error {
				if err := e.Unlock(a.ctx, argv[0], as, reason); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "unlocked %s (recorded)\n", argv[0])
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, a `TEXT` (recorded)")
	return cmd
}

func (a *app) releaseLog(rf *releaseFlags) *cobra.Command {
	var verifyChain, asJSON bool
	cmd := &cobra.Command{
		Use:   "log PLAN",
		Short: "Show a plan's audit log; --verify checks the hash chain of the whole log",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			if r, err := a.remoteServer(); err != nil || r != nil {
				if err != nil {
					return err
				}
				return a.printRemoteLog(r, argv[0], verifyChain, asJSON)
			}
			return a.withEngine(rf, false, nil, func(e *release.Engine, _ *workspace.Workspace, _ string) error {
				return a.printLog(e, argv[0], verifyChain, asJSON)
			})
		},
	}
	cmd.Flags().BoolVar(&verifyChain, "verify", false, "check that no entry was edited or deleted")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func (a *app) printLog(e *release.Engine, planID string, verifyChain, asJSON bool) error {
	l, err := view.ReleaseLog(a.ctx, e, planID, verifyChain)
	if err != nil {
		return err
	}
	if asJSON {
		err = report.JSON(a.stdout, l.Document())
	} else {
		if !l.ActorsVerified {
			fmt.Fprintln(a.stdout, "actors unverified: cascade.yaml lists no people, so the names below are what each person's user name said")
		}
		err = report.AuditText(a.stdout, l.Entries, verifyChain, l.Problems, e.WS.Policy.Location)
	}
	if err != nil {
		return err
	}
	if len(l.Problems) > 0 {
		return &silentError{errkind.New(errkind.Problem, "the audit log was tampered with")}
	}
	return nil
}

// checkManager refuses a plan whose manager is not one of the workspace's
// people (when it lists any): bad input, in the plan file.
func checkManager(ws *workspace.Workspace, p *plan.Plan) error {
	if len(ws.People) == 0 || ws.PersonNamed(p.Manager) != nil {
		return nil
	}
	return errkind.New(errkind.Invalid, "%s: the release manager %q is not one of the people in %s; add them under `people:` or name another manager", p.Where("manager"), p.Manager, ws.File)
}

// scopeOf adds the plan's frozen scope (its heads key) to what a person
// signs: a start or a gate override names the scope it was made for.
func scopeOf(planID string) func(ws *workspace.Workspace) (map[string]string, error) {
	return func(ws *workspace.Workspace) (map[string]string, error) {
		p, err := plan.Load(ws, planID)
		if err != nil {
			return nil, err
		}
		return map[string]string{"heads": p.HeadsKey()}, nil
	}
}
