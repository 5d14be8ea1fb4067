package cli

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/runbook"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/verify"
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
	cmd.AddCommand(a.planNewCommand(), a.planListCommand(), a.planShowCommand(), a.planCheckCommand(), a.planRescopeCommand())
	return cmd
}

func (a *app) planNewCommand() *cobra.Command {
	var title, manager, spec, notes string
	var changes, versions []string
	cmd := &cobra.Command{
		Use:   "new ID --title T --manager NAME --change REPO@REF...",
		Short: "Write a release plan: resolve the refs, freeze the scope, compute the order",
		Args:  args(cobra.ExactArgs(1)),
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
			return report.PlanText(a.stdout, p)
		},
	}
	f := cmd.Flags()
	f.StringVar(&title, "title", "", "what the release is")
	f.StringVar(&manager, "manager", "", "the release manager (exactly one)")
	f.StringVar(&spec, "spec", "", "a link to the spec")
	f.StringVar(&notes, "notes", "", "notes for the reviewers")
	stringList(f, &changes, "change", "a ref of the change set, REPO@REF (repeatable)")
	stringList(f, &versions, "version", "the proposed version of a repo, REPO=VERSION (repeatable)")
	return cmd
}

func (a *app) planListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the release plans",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ws, err := a.loadWorkspace()
			if err != nil {
				return err
			}
			ps, err := plan.List(ws)
			if err != nil {
				return err
			}
			if asJSON {
				if ps == nil {
					ps = []*plan.Plan{}
				}
				return report.JSON(a.stdout, map[string]any{"plans": ps})
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
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
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
				return report.PlanMarkdown(a.stdout, p, outline)
			case "text":
				return report.PlanText(a.stdout, p)
			}
			return errkind.New(errkind.Invalid, "unknown format %q; use text, markdown or json", format)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "text, markdown or json")
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
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			when := a.now()
			if at != "" {
				t, err := time.Parse(time.RFC3339, at)
				if err != nil {
					return errkind.New(errkind.Invalid, "--at %q: write an RFC 3339 time such as 2026-11-27T10:00:00-08:00", at)
				}
				when = t
			}
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
			gates, err := plan.Check(a.ctx, ws, g, p, plan.CheckOptions{At: when, CacheDir: cache, BenchRuns: runs, NoCache: a.noCache})
			if err != nil {
				return err
			}
			p.Computed.Gates, p.Computed.CheckedAt, p.Computed.Heads = gates, a.now().UTC().Truncate(time.Second), p.HeadsKey()
			if err := p.Save(ws); err != nil {
				return err
			}
			ovs, err := a.auditOverrides(ws, p)
			if err != nil {
				return err
			}
			gates = p.ApplyOverrides(append([]plan.Gate(nil), gates...), ovs)
			if asJSON {
				for i := range gates {
					if gates[i].Details == nil {
						gates[i].Details = []string{}
					}
				}
				err = report.JSON(a.stdout, map[string]any{"plan": p.ID, "at": when.Format(time.RFC3339), "at_given": at != "", "gates": gates})
			} else {
				err = report.GatesText(a.stdout, p.ID, when, gates)
				if err == nil && at != "" {
					_, err = fmt.Fprintf(a.stdout, "Evaluated at %s (--at), not now: releases act only at the real time.\n", when.Format(time.RFC3339))
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
	cmd.Flags().StringVar(&at, "at", "", "the time to check the windows and freezes at (RFC 3339; default now)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	cmd.Flags().IntVar(&runs, "bench-runs", 5, "benchmark runs on each side to start the performance gate with (at least 4; it adds runs while unsure, up to 20 or this number)")
	return cmd
}

func (a *app) planRescopeCommand() *cobra.Command {
	var key, reason string
	cmd := &cobra.Command{
		Use:   "rescope ID [--reason TEXT]",
		Short: "Re-freeze a plan's scope at its refs' current heads (the release manager only; signed like release actions)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			ws, g, err := a.loadGraph()
			if err != nil {
				return err
			}
			p, err := plan.Load(ws, argv[0])
			if err != nil {
				return err
			}
			if err := checkManager(ws, p); err != nil {
				return err
			}
			_, as, err := a.whoActs(ws, key, p.ID, "rescope", map[string]string{"reason": reason})
			if err != nil {
				return err
			}
			if as != p.Manager {
				return errkind.New(errkind.Unauthorized, "only the release manager (%s) may re-freeze the scope of %s; %s may not", p.Manager, p.ID, as)
			}
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
					fmt.Fprintf(a.stdout, "%s@%s: %s → %s\n", c.Repo, c.Ref, c.Head[:12], head[:12])
				}
				p.Changes[i].Base, p.Changes[i].Head = base, head
			}
			if _, err := p.Runbooks(a.ctx, g); err != nil {
				return err
			}
			p.Rescoped = append(p.Rescoped, plan.Rescope{By: as, At: a.now().UTC().Truncate(time.Second), Reason: reason})
			if err := p.Save(ws); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "re-froze the scope of %s, recorded as %s\n", p.ID, as)
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "your SSH private key to sign with (needed when cascade.yaml lists people)")
	cmd.Flags().StringVar(&reason, "reason", "", "why the scope changed")
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
// the workspace's default database (.cascade/cascade.db), verified as
// release start verifies them. Without a database there are none.
func (a *app) auditOverrides(ws *workspace.Workspace, p *plan.Plan) ([]plan.GateOverride, error) {
	db := filepath.Join(ws.Dir, ".cascade", "cascade.db")
	if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	st, err := store.Open(a.ctx, db)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	e := &release.Engine{Store: st, WS: ws, Now: a.now, Log: func(format string, args ...any) { fmt.Fprintf(a.stderr, format+"\n", args...) }}
	return e.PlanOverrides(a.ctx, p)
}
