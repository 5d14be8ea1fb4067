package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/workspace"
)

type releaseFlags struct {
	db string
	as string
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

  cascade release start PLAN --as NAME
  cascade release status PLAN [--json]
  cascade release next PLAN --as NAME
  cascade release confirm PLAN STEP --as NAME [--input k=v]...
  cascade release retry PLAN STEP --as NAME
  cascade release override PLAN STEP --as NAME --reason TEXT
  cascade release abort PLAN --as NAME --reason TEXT
  cascade release log PLAN [--verify] [--json]
  cascade release unlock REPO --as NAME --reason TEXT

STEP is a step's number, its name, or REPO:NAME. State is kept in SQLite
(--db, default .cascade/cascade.db beside cascade.yaml).`,
	}
	cmd.PersistentFlags().StringVar(&rf.db, "db", "", "the state database (default: .cascade/cascade.db beside cascade.yaml)")
	cmd.PersistentFlags().StringVar(&rf.as, "as", "", "who acts (default: your user name)")
	cmd.AddCommand(
		a.releaseStart(rf), a.releaseStatus(rf), a.releaseNext(rf), a.releaseConfirm(rf), a.releaseRetry(rf),
		a.releaseOverride(rf), a.releaseAbort(rf), a.releaseLog(rf), a.releaseUnlock(rf),
	)
	return cmd
}

// engine opens the workspace, the graph (when needed) and the database.
func (a *app) engine(rf *releaseFlags, needGraph bool) (*release.Engine, *workspace.Workspace, func(), error) {
	ws, err := a.loadWorkspace()
	if err != nil {
		return nil, nil, nil, err
	}
	var g *graph.Workspace
	if needGraph {
		if _, g, err = a.loadGraph(); err != nil {
			return nil, nil, nil, err
		}
	}
	db := rf.db
	if db == "" {
		db = filepath.Join(ws.Dir, ".cascade", "cascade.db")
	}
	st, err := store.Open(a.ctx, db)
	if err != nil {
		return nil, nil, nil, err
	}
	cache, err := a.cache()
	if err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	e := &release.Engine{Store: st, WS: ws, G: g, CacheDir: cache, Now: a.now, LookupEnv: os.LookupEnv,
		Log: func(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }}
	return e, ws, func() { st.Close() }, nil
}

// withEngine runs fn with an open engine and, with needActor, the actor.
func (a *app) withEngine(rf *releaseFlags, needGraph, needActor bool, fn func(e *release.Engine, ws *workspace.Workspace, as string) error) error {
	var as string
	if needActor {
		var err error
		if as, err = a.actor(rf); err != nil {
			return err
		}
	}
	e, ws, done, err := a.engine(rf, needGraph)
	if err != nil {
		return err
	}
	defer done()
	return fn(e, ws, as)
}

func (a *app) actor(rf *releaseFlags) (string, error) {
	as := rf.as
	if as == "" {
		as = a.userName()
	}
	if as == "" {
		return "", errkind.New(errkind.Invalid, "say who acts with --as NAME")
	}
	return as, nil
}

func (a *app) releaseStart(rf *releaseFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "start PLAN",
		Short: "Start a release of a plan (the release manager only); locks its repos",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.withEngine(rf, true, true, func(e *release.Engine, ws *workspace.Workspace, as string) error {
				p, err := plan.Load(ws, argv[0])
				if err != nil {
					return err
				}
				st, err := e.Start(a.ctx, p, as)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "started the release of %s (%d steps); run `cascade release next %s --as %s`\n", p.ID, len(st.Steps), p.ID, as)
				return report.ReleaseStatus(a.stdout, st)
			})
		},
	}
}

func (a *app) releaseStatus(rf *releaseFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status PLAN",
		Short: "Show every step of a plan's release with its state, who, when and output",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.withEngine(rf, false, false, func(e *release.Engine, _ *workspace.Workspace, _ string) error {
				st, err := e.Status(a.ctx, argv[0])
				if err != nil {
					return err
				}
				if asJSON {
					return report.JSON(a.stdout, st)
				}
				return report.ReleaseStatus(a.stdout, st)
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
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.withEngine(rf, true, true, func(e *release.Engine, ws *workspace.Workspace, as string) error {
				p, err := plan.Load(ws, argv[0])
				if err != nil {
					return err
				}
				stop, err := e.Next(a.ctx, p, as)
				if err != nil {
					return err
				}
				if err := report.ReleaseStop(a.stdout, stop); err != nil {
					return err
				}
				if stop.Step != nil && stop.Step.State == release.Failed {
					return &silentError{errkind.New(errkind.Problem, "a step failed")}
				}
				return nil
			})
		},
	}
}

func (a *app) releaseConfirm(rf *releaseFlags) *cobra.Command {
	var inputs []string
	cmd := &cobra.Command{
		Use:   "confirm PLAN STEP",
		Short: "Confirm a manual step (or an interrupted one) as done, with its inputs",
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			in := map[string]string{}
			for _, kv := range inputs {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return errkind.New(errkind.Invalid, "--input %q: write NAME=VALUE", kv)
				}
				in[k] = v
			}
			return a.withEngine(rf, false, true, func(e *release.Engine, _ *workspace.Workspace, as string) error {
				s, err := e.Confirm(a.ctx, argv[0], argv[1], as, in)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "confirmed step %d (%s) as %s; run `cascade release next %s`\n", s.Index, s.Name, as, argv[0])
				return nil
			})
		},
	}
	cmd.Flags().StringArrayVar(&inputs, "input", nil, "a value the step asks for, NAME=VALUE (repeatable)")
	return cmd
}

func (a *app) releaseRetry(rf *releaseFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "retry PLAN STEP",
		Short: "Set a failed or interrupted step back to pending, to run it again",
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.withEngine(rf, false, true, func(e *release.Engine, _ *workspace.Workspace, as string) error {
				s, err := e.Retry(a.ctx, argv[0], argv[1], as)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "step %d (%s) will run again on `cascade release next %s`\n", s.Index, s.Name, argv[0])
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
		Args:  args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.withEngine(rf, false, true, func(e *release.Engine, _ *workspace.Workspace, as string) error {
				s, err := e.Override(a.ctx, argv[0], argv[1], as, reason)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "overrode step %d (%s) as %s: %s\n", s.Index, s.Name, as, reason)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the step is skipped (recorded)")
	return cmd
}

func (a *app) releaseAbort(rf *releaseFlags) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "abort PLAN --reason TEXT",
		Short: "Abort a release and release its locks",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.withEngine(rf, false, true, func(e *release.Engine, _ *workspace.Workspace, as string) error {
				if err := e.Abort(a.ctx, argv[0], as, reason); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "aborted the release of %s: %s\n", argv[0], reason)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded)")
	return cmd
}

func (a *app) releaseUnlock(rf *releaseFlags) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "unlock REPO --as NAME --reason TEXT",
		Short: "Remove a repo's release lock in an emergency (audited)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			if rf.as == "" {
				return errkind.New(errkind.Invalid, "unlock needs --as NAME: it is recorded in the audit log")
			}
			return a.withEngine(rf, false, false, func(e *release.Engine, _ *workspace.Workspace, _ string) error {
				if err := e.Unlock(a.ctx, argv[0], rf.as, reason); err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "unlocked %s (recorded)\n", argv[0])
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why (recorded)")
	return cmd
}

func (a *app) releaseLog(rf *releaseFlags) *cobra.Command {
	var verifyChain, asJSON bool
	cmd := &cobra.Command{
		Use:   "log PLAN",
		Short: "Show a plan's audit log; --verify checks the hash chain of the whole log",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			return a.withEngine(rf, false, false, func(e *release.Engine, _ *workspace.Workspace, _ string) error {
				return a.printLog(e, argv[0], verifyChain, asJSON)
			})
		},
	}
	cmd.Flags().BoolVar(&verifyChain, "verify", false, "check that no entry was edited or deleted")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func (a *app) printLog(e *release.Engine, planID string, verifyChain, asJSON bool) error {
	entries, err := e.Store.Entries(a.ctx, planID)
	if err != nil {
		return errkind.Wrap(errkind.Infra, err)
	}
	var problems []string
	if verifyChain {
		if problems, err = e.Store.VerifyChain(a.ctx); err != nil {
			return errkind.Wrap(errkind.Infra, err)
		}
	}
	if asJSON {
		if entries == nil {
			entries = []store.Entry{}
		}
		doc := map[string]any{"plan": planID, "entries": entries}
		if verifyChain {
			doc["verified"] = len(problems) == 0
			doc["problems"] = problems
		}
		err = report.JSON(a.stdout, doc)
	} else {
		err = report.AuditText(a.stdout, entries, verifyChain, problems)
	}
	if err != nil {
		return err
	}
	if len(problems) > 0 {
		return &silentError{errkind.New(errkind.Problem, "the audit log was tampered with")}
	}
	return nil
}
