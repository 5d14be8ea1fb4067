package cli

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/runbook"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/verify"
	"github.com/cascade-dev/cascade/internal/view"
	"github.com/cascade-dev/cascade/internal/workspace"
)

func (a *app) planCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Release plans: one manager, release windows, frozen scope, gates, safe order",
		Long: `A release plan is a YAML file under plans/ beside cascade.yaml, reviewed like
code: the change set (repo@ref, each with its frozen scope), the proposed
versions, exactly one release manager, and what cascade computed: the release
order and the gates' last results.

  cascade plan new ID --title T --manager NAME --change REPO@REF... [--version REPO=VERSION]...
  cascade plan list
  cascade plan show ID [--format text|markdown|json]
  cascade plan check ID [--at TIME] [--json]
  cascade plan rescope ID [--reason TEXT] [--key FILE]`,
	}
	cmd.PersistentFlags().StringVar(&a.planDB, "db", "", dbFlagHelp)
	cmd.AddCommand(a.planNewCommand(), a.planListCommand(), a.planShowCommand(), a.planCheckCommand(), a.planRescopeCommand())
	// Every subcommand takes --db; those that do not read the database
	// still refuse a name that is none (a typo is not ignored).
	for _, sub := range cmd.Commands() {
		run := sub.RunE
		if run == nil {
			continue
		}
		sub.RunE = func(c *cobra.Command, args []string) error {
			if c.Flags().Changed("db") {
				if err := store.CheckURL(a.planDB); err != nil {
					return err
				}
			}
			return run(c, args)
		}
	}
	return cmd
}

func (a *app) planNewCommand() *cobra.Command {
	var title, manager, spec, notes string
	var changes, versions []string
	cmd := &cobra.Command{
		Use:   "new ID --title T --manager NAME --change REPO@REF...",
		Short: "Write a release plan: resolve the refs, freeze the scope, compute the order",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			id := argv[0]
			if err := plan.ValidID(id); err != nil {
				return err
			}
			if strings.TrimSpace(title) == "" {
				return errkind.New(errkind.Invalid, "plan new needs --title")
			}
			if strings.TrimSpace(manager) == "" {
				return errkind.New(errkind.Invalid, "plan new needs --manager NAME: a release has exactly one manager")
			}
			if strings.ContainsAny(manager, ",;") {
				return errkind.New(errkind.Invalid, "--manager %q names more than one person; a release has exactly one manager", manager)
			}
			if len(changes) == 0 {
				return errkind.New(errkind.Invalid, "plan new needs at least one --change REPO@REF")
			}
			ws, g, err := a.loadGraph()
			if err != nil {
				return err
			}
			if len(ws.People) > 0 && ws.PersonNamed(manager) == nil {
				return errkind.New(errkind.Invalid, "--manager %s is not one of the people in %s; add them under `people:` (name, emails, keys) or name another manager", manager, ws.File)
			}
			if _, err := os.Stat(plan.File(ws, id)); err == nil {
				return errkind.New(errkind.Invalid, "plan %q already exists (%s); pick another id or edit that file", id, plan.File(ws, id))
			}
			vers := map[string]string{}
			for _, v := range versions {
				repo, ver, ok := strings.Cut(v, "=")
				if !ok {
					return errkind.New(errkind.Invalid, "--version %q: write REPO=VERSION, such as clever-db=v2.0.0", v)
				}
				vers[repo] = ver
			}
			p := &plan.Plan{ID: id, Title: title, Spec: spec, Manager: manager, Notes: notes, Created: a.now().UTC().Truncate(time.Second)}
			for _, c := range changes {
				name, ref := verify.SplitRef(c)
				if ref == "" {
					return errkind.New(errkind.Invalid, "--change %q: write REPO@REF, such as clever-db@strict-where", c)
				}
				i, err := g.Lookup(name)
				if err != nil {
					return err
				}
				r := g.Repos[i]
				base, head, err := plan.Freeze(a.ctx, r.Git, r.Commit, ref)
				if err != nil {
					if errkind.Of(err) == errkind.NotFound {
						return errkind.New(errkind.Invalid, "--change %s: repo %s has no branch, tag or commit %q", c, r.Name, ref)
					}
					return err
				}
				ch := plan.Change{Repo: r.Name, Ref: ref, Base: base, Head: head, Version: vers[r.Name]}
				if ch.Version == "" {
					ch.Version = vers[name]
				}
				delete(vers, r.Name)
				delete(vers, name)
				p.Changes = append(p.Changes, ch)
			}
			for repo := range vers {
				return errkind.New(errkind.Invalid, "--version %s=...: %s is not in the change set", repo, repo)
			}
			if err := p.Validate(); err != nil {
				return errkind.Wrap(errkind.Invalid, err)
			}
			for _, c := range p.Changes {
				if c.Version == "" {
					continue
				}
				if err := plan.ValidVersion(c.Version, plan.IsGoRepo(g, c.Repo)); err != nil {
					return errkind.New(errkind.Invalid, "--version %s=%s: %v", c.Repo, c.Version, err)
				}
			}
			order, err := plan.Order(g, p.Repos())
			if err != nil {
				return errkind.Wrap(errkind.Invalid, err)
			}
			p.Computed.Order = order
			p.Computed.Upstream, p.Computed.Downstream = plan.Affected(g, p.Repos())
			if _, err := p.Runbooks(a.ctx, g); err != nil {
				return err
			}
			if err := p.Save(ws); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "wrote %s\n", plan.File(ws, id))
			return report.PlanText(a.stdout, p, ws.Policy.Location)
		},
	}
	f := cmd.Flags()
	f.StringVar(&title, "title", "", "what the release is, a `TEXT`")
	f.StringVar(&manager, "manager", "", "the release manager (exactly one), a person's `NAME`")
	f.StringVar(&spec, "spec", "", "a link to the spec, a `URL`")
	f.StringVar(&notes, "notes", "", "notes for the reviewers, a `TEXT`")
	stringList(f, &changes, "change", "a ref of the change set, `REPO@REF` (repeatable)")
	stringList(f, &versions, "version", "the proposed version of a repo, `REPO=VERSION` (repeatable)")
	return cmd
}

func (a *app) planListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the release plans",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if r, err := a.remoteServer(); err != nil || r != nil {
				if err != nil {
					return err
				}
				var doc struct {
					Plans []*plan.Plan `json:"plans"`
				}
				if printed, err := a.fetchDoc(r, "/api/v1/plans", asJSON, &doc); err != nil || printed {
					return err
				}
				return report.PlanList(a.stdout, doc.Plans)
			}
			ws, err := a.loadWorkspace()
			if err != nil {
				return err
			}
			if asJSON {
				doc, err := view.PlanList(ws)
				if err != nil {
					return err
				}
				return report.JSON(a.stdout, doc)
			}
			ps, err := plan.List(ws)
			if err != nil {
				return err
			}
			return report.PlanList(a.stdout, ps)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

func (a *app) planShowCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a plan as text, Markdown (for a spec or pull request) or JSON",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			if r, err := a.remoteServer(); err != nil || r != nil {
				if err != nil {
					return err
				}
				if format != "json" && format != "text" {
					return errkind.New(errkind.Invalid, "through a server, plan show prints text or json; run it without --server for %s", format)
				}
				var p plan.Plan
				if printed, err := a.fetchDoc(r, "/api/v1/plans/"+pathSeg(argv[0]), format == "json", &p); err != nil || printed {
					return err
				}
				return report.PlanText(a.stdout, &p, a.remoteLocation())
			}
			ws, err := a.loadWorkspace()
			if err != nil {
				return err
			}
			p, err := plan.Load(ws, argv[0])
			if err != nil {
				return err
			}
			switch format {
			case "json":
				return report.JSON(a.stdout, p)
			case "markdown", "md":
				outline, err := a.runbookOutline(p)
				if err != nil {
					return err
				}
				return report.PlanMarkdown(a.stdout, p, outline, ws.Policy.Location)
			case "text":
				if _, _, err := a.auditOverrides(ws, p, nil, a.now()); err != nil {
					return err
				}
				return report.PlanText(a.stdout, p, ws.Policy.Location)
			}
			return errkind.New(errkind.Invalid, "unknown format %q; use text, markdown or json", format)
		},
	}
	outputFormat(cmd, &format, "text", "markdown", "json")
	return cmd
}

func (a *app) planCheckCommand() *cobra.Command {
	var at string
	var asJSON bool
	var runs int
	cmd := &cobra.Command{
		Use:   "check ID",
		Short: "Run every gate of a plan: window, freeze, manager, scope, semver, downstream, performance",
		Long: `Run every gate of the plan and print each as pass, fail or warn with the reason:

  window       --at (RFC 3339; default now) falls in a release window of the
               workspace's policy (default: Monday to Thursday, 09:00-16:00)
  freeze       no freeze period covers it
  manager      exactly one release manager is named
  scope        every ref is still at its frozen head; otherwise every commit
               outside the frozen scope is listed
  semver       each proposed version matches what its changes need
  downstream   cascade verify of the change set: no regression with the set,
               and every downstream verified (an error verdict fails it)
  performance  benchmarks declared in .cascade.yaml (bench:) at the frozen
               base and head, each run a process of its own, base and head
               alternating, compared with a Mann-Whitney U test; runs are
               added while the answer is unsure (up to 20 per side). A
               benchmark fails when its slowdown is significant and surely
               beyond 10%; still unsure after the last run, the gate warns

Exit 1 if any gate fails; a failed gate the release manager let pass with
` + "`cascade release override-gate`" + ` shows as OVERRIDDEN, with who and why, and
does not fail: overrides are read from the audit log in
.cascade/cascade.db (the plan file's overrides: list is a copy for
reviewers and lets nothing pass). With --at the window and freeze gates are evaluated at that
time, and the output says so. The results are recorded in the plan file.`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			when := a.now()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return errkind.New(errkind.Invalid, "--at %q: write an RFC 3339 time such as 2026-11-27T10:00:00-08:00", at)
				}
				when = t
			}
			a.fetch = true // the scope gate compares refs as the remotes have them now
			ws, g, err := a.loadGraph()
			if err != nil {
				return err
			}
			p, err := plan.Load(ws, argv[0])
			if err != nil {
				return err
			}
			if err := p.CheckVersions(g); err != nil {
				return err
			}
			notes, err := p.Recompute(g)
			if err != nil {
				return err
			}
			for _, n := range notes {
				fmt.Fprintf(a.stderr, "warning: %s\n", n)
			}
			if err := p.CheckBases(a.ctx, g); err != nil {
				return err
			}
			if err := checkManager(ws, p); err != nil {
				return err
			}
			if _, err := p.Runbooks(a.ctx, g); err != nil {
				return err
			}
			cache, err := a.cache()
			if err != nil {
				return err
			}
			gates, err := a.checkGates(ws, g, p, plan.CheckOptions{At: when, CacheDir: cache, BenchRuns: runs, NoCache: a.noCache})
			if err != nil {
				return err
			}
			p.Checked(gates, a.now())
			if err := p.Save(ws); err != nil {
				return err
			}
			_, gates, err = a.auditOverrides(ws, p, append([]plan.Gate(nil), gates...), when)
			if err != nil {
				return err
			}
			if asJSON {
				for i := range gates {
					if gates[i].Details == nil {
						gates[i].Details = []string{}
					}
				}
				err = report.JSON(a.stdout, map[string]any{"plan": p.ID, "at": when.Format(time.RFC3339), "at_given": at != "", "gates": gates})
			} else {
				err = report.GatesText(a.stdout, p.ID, when, gates, ws.Policy.Location)
				if err == nil && at != "" {
					_, err = fmt.Fprintf(a.stdout, "Evaluated at %s (--at), not now: releases act only at the real time.\n", report.Stamp(when, ws.Policy.Location))
				}
			}
			if err != nil {
				return err
			}
			if plan.Failed(gates) {
				return &silentError{errkind.New(errkind.Problem, "a gate failed")}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "the `TIME` to check the windows and freezes at (RFC 3339; default now)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	cmd.Flags().IntVar(&runs, "bench-runs", plan.DefaultPerfPolicy().Runs, "the number `N` of benchmark runs on each side to start the performance gate with (at least 4; it adds runs while unsure, up to 20 or this number)")
	return cmd
}

func (a *app) planRescopeCommand() *cobra.Command {
	var reason string
	rf := &releaseFlags{}
	cmd := &cobra.Command{
		Use:   "rescope ID [--reason TEXT]",
		Short: "Re-freeze a plan's scope at its refs' current heads (the release manager only; signed and audited like release actions)",
		Long: `Re-freeze a plan's scope at its refs' current heads. Only the release
manager may; the re-freeze is signed (with people in cascade.yaml) and
recorded in the plan's audit log (--db), and so is a refusal. The gates
trust a plan file's frozen heads only as the last signed re-freeze left
them: heads edited by hand, with or without a rescoped: line, fail the
scope gate.`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			rf.db = a.planDB
			e, ws, done, err := a.engine(rf, true)
			if err != nil {
				return err
			}
			defer done()
			g := e.G
			p, err := plan.Load(ws, argv[0])
			if err != nil {
				return err
			}
			if err := checkManager(ws, p); err != nil {
				return err
			}
			var moved []string
			for i, c := range p.Changes {
				gi, err := g.Lookup(c.Repo)
				if err != nil {
					return err
				}
				r := g.Repos[gi]
				base, head, err := plan.Freeze(a.ctx, r.Git, r.Commit, c.Ref)
				if err != nil {
					return err
				}
				if head != c.Head {
					moved = append(moved, fmt.Sprintf("%s@%s: %s → %s", c.Repo, c.Ref, c.Head[:12], head[:12]))
				}
				p.Changes[i].Base, p.Changes[i].Head = base, head
			}
			if _, err := p.Runbooks(a.ctx, g); err != nil {
				return err
			}
			// What is signed names the new scope.
			as, err := a.signAs(e, ws, rf.key, p.ID, "rescope", map[string]string{"reason": reason, "heads": p.HeadsKey()})
			if err != nil {
				return err
			}
			if err := e.Rescope(a.ctx, p, as, reason, func(p *plan.Plan) error { return p.Save(ws) }); err != nil {
				return err
			}
			for _, m := range moved {
				fmt.Fprintln(a.stdout, m)
			}
			fmt.Fprintf(a.stdout, "re-froze the scope of %s, recorded as %s\n", p.ID, as)
			return nil
		},
	}
	cmd.Flags().StringVar(&rf.key, "key", "", "your SSH private key `FILE` to sign with (needed when cascade.yaml lists people; default: $CASCADE_SIGNING_KEY, else git config --global user.signingkey)")
	cmd.Flags().StringVar(&reason, "reason", "", "why the scope changed, a `TEXT`")
	return cmd
}

func (a *app) userName() string {
	if u := a.getenv("USER"); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return ""
}

// runbookOutline lists, per repo of the plan, the names of its release
// steps as `release` will name them: from .cascade.yaml at the frozen head,
// or the default runbook.
func (a *app) runbookOutline(p *plan.Plan) (map[string][]string, error) {
	_, g, err := a.loadGraph()
	if err != nil {
		return nil, err
	}
	notes, err := p.Recompute(g)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		fmt.Fprintf(a.stderr, "warning: %s\n", n)
	}
	books, err := p.Runbooks(a.ctx, g)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, c := range p.Changes {
		out[c.Repo] = runbook.Names(books[c.Repo], runbook.Data{Repo: c.Repo, Version: c.Version, Plan: p.ID, Ref: c.Ref, Commit: c.Head})
	}
	return out, nil
}

// auditOverrides reads the gate overrides of plan p from the audit log in
// the state database (plan's --db, $CASCADE_DB, else .cascade/cascade.db), verified as
// release start verifies them, applies them to gates (when given), and marks the plan file's re-freezes that
// the log does not vouch for; gates, when given, get the scope gate failed
// if the frozen heads are not the ones a signed re-freeze froze. Without a
// database there are no overrides and no signed re-freezes.
func (a *app) auditOverrides(ws *workspace.Workspace, p *plan.Plan, gates []plan.Gate, at time.Time) ([]plan.GateOverride, []plan.Gate, error) {
	db := a.stateDB(ws, a.planDB)
	if _, err := os.Stat(strings.TrimPrefix(db, "sqlite:")); !store.IsServer(db) && errors.Is(err, os.ErrNotExist) {
		for i := range p.Rescoped {
			p.Rescoped[i].Unverified = true
		}
		if len(p.Rescoped) > 0 && gates != nil {
			gates = failScope(gates, fmt.Sprintf("plans/%s.yaml says its scope was re-frozen, but there is no audit log (%s) holding a signed re-freeze: its frozen heads cannot be trusted; the manager re-freezes with `cascade plan rescope %s`", p.ID, db, p.ID))
		}
		return nil, gates, nil
	} else if err != nil && !store.IsServer(db) {
		return nil, nil, errkind.Wrap(errkind.Infra, err)
	}
	st, err := store.Open(a.ctx, db)
	if err != nil {
		return nil, nil, err
	}
	defer st.Close()
	e := &release.Engine{Store: st, WS: ws, Now: a.now, Log: func(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }}
	ovs, err := e.PlanOverrides(a.ctx, p)
	if err != nil {
		return nil, nil, err
	}
	if gates != nil {
		gates, err = e.HoldUntrustedScope(a.ctx, p, p.ApplyOverrides(gates, plan.Covering(ws.Policy, ovs, at)))
	} else {
		_, err = e.Rescopes(a.ctx, p)
	}
	return ovs, gates, err
}

// failScope fails the scope gate among gates with reason.
func failScope(gates []plan.Gate, reason string) []plan.Gate {
	for i := range gates {
		if gates[i].Name == "scope" {
			gates[i].Status, gates[i].Reason, gates[i].Details = plan.Fail, reason, nil
		}
	}
	return gates
}

// checkGates runs plan.Check, reporting each gate (and the downstream
// gate's verification) as progress.
func (a *app) checkGates(ws *workspace.Workspace, g *graph.Workspace, p *plan.Plan, opt plan.CheckOptions) ([]plan.Gate, error) {
	prog := a.newProgress("plan check", len(plan.GateNames))
	defer prog.stop()
	var started time.Time
	if prog != nil {
		opt.Progress = func(gate plan.Gate, done bool) {
			if !done {
				started = time.Now()
				prog.begin(gate.Name)
				return
			}
			prog.finish(gate.Name, gate.Status, time.Since(started))
		}
		opt.Verify = func(e verify.Progress) {
			if e.Result != nil {
				prog.note(fmt.Sprintf("downstream [%d/%d] %s (%s): %s", e.Done, e.Total, e.Repo, e.State, e.Result.Verdict))
			}
		}
	}
	return plan.Check(a.ctx, ws, g, p, opt)
}
