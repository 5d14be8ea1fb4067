package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/plural"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/runbook"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/schemadiff"
	"github.com/cascade-dev/cascade/internal/suggest"
	"github.com/cascade-dev/cascade/internal/workspace"
	"github.com/cascade-dev/cascade/internal/yamlfile"
)

// checkProblem is one problem `cascade check` found: the file (a repo's
// file as REPO@REF:.cascade.yaml), the line (0 when the problem is the
// whole file's), the message (with the file and line in front, as printed)
// and its kind: syntax (the YAML does not parse), duplicate_key,
// unknown_key, not_found (a repo's ref) or invalid.
type checkProblem struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Message string `json:"message"`
	Kind    string `json:"kind"`
}

// newProblem is the problem err of file.
func newProblem(file string, err error) checkProblem {
	msg := err.Error()
	p := checkProblem{File: file, Message: msg, Kind: "invalid"}
	if rest, ok := strings.CutPrefix(msg, file+":"); ok {
		digits := rest[:len(rest)-len(strings.TrimLeft(rest, "0123456789"))]
		if n, err := strconv.Atoi(digits); err == nil {
			p.Line = n
		}
	}
	var dup *yamlfile.DuplicateKeyError
	switch {
	case errors.As(err, &dup):
		p.Kind = "duplicate_key"
	case strings.HasSuffix(msg, "(fix the YAML syntax)"):
		p.Kind = "syntax"
	case strings.Contains(msg, ": unknown key "):
		p.Kind = "unknown_key"
	case errkind.Of(err) == errkind.NotFound:
		p.Kind = "not_found"
	}
	return p
}

// addProblems adds every problem err holds, once each.
func (r *checkReport) addProblems(file string, err error) {
	for _, e := range yamlfile.Split(err) {
		p := newProblem(file, e)
		if !slices.ContainsFunc(r.Problems, func(q checkProblem) bool { return q.File == p.File && q.Message == p.Message }) {
			r.Problems = append(r.Problems, p)
		}
	}
}

// checkReport is what `cascade check` checked and found.
type checkReport struct {
	SchemaVersion int            `json:"schema_version"`
	Workspace     string         `json:"workspace"`
	RepoConfigs   []string       `json:"repo_configs"`
	Plans         []string       `json:"plans"`
	People        int            `json:"people"`
	Problems      []checkProblem `json:"problems"`
}

func (a *app) checkCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "check [REPO@REF...]",
		Short: "Check cascade.yaml, every repo's .cascade.yaml and every plan file: all problems at once",
		Long: `Check reads every file cascade acts on and reports every problem at once,
each with its file and line: cascade.yaml (repos, discover, policy, people),
each repo's .cascade.yaml at its branch (runbook steps and their templates,
bench, api schemas; REPO@REF checks that ref instead, e.g. the branch of a
pull request), and every plan file under plans/ (its id, its repos, its
versions). Run it in review and in CI, so that a bad runbook is found before
` + "`cascade release start`" + `.

Exit codes: 0 no problem; 2 problems (listed); 3 a repository could not be read.`,
		Example: `  cascade check
  cascade check clever-api@adapt-strict-where
  cascade check --json`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ws, err := a.loadWorkspace()
			var wsProblems error
			if err != nil && errkind.Of(err) == errkind.Invalid {
				if ws == nil {
					// A cascade.yaml that cannot be read names no repos,
					// but the plan files beside it are still checked.
					if file := a.brokenWorkspaceFile(); file != "" {
						ws = &workspace.Workspace{File: file, Dir: filepath.Dir(file)}
					}
				}
				if ws != nil {
					wsProblems, err = err, nil
				}
			}
			if err != nil {
				if asJSON && errkind.Of(err) == errkind.Invalid {
					rep := checkReport{SchemaVersion: 1, Workspace: a.workspaceFile, RepoConfigs: []string{}, Plans: []string{}, Problems: []checkProblem{}}
					rep.addProblems(a.workspaceFile, err)
					if jerr := report.JSON(a.stdout, rep); jerr != nil {
						return jerr
					}
					return &silentError{err}
				}
				return err
			}
			refs := map[string]string{}
			for _, arg := range args {
				repo, ref, ok := strings.Cut(arg, "@")
				if !ok || ref == "" {
					return errkind.New(errkind.Invalid, "%q: give REPO@REF (the ref of REPO whose .cascade.yaml to check)", arg)
				}
				if !hasRepo(ws, repo) {
					return errkind.New(errkind.Invalid, "no repo %q in %s; the repos are: %s", repo, ws.File, strings.Join(repoNames(ws), ", "))
				}
				refs[repo] = ref
			}
			rep, err := a.check(ws, refs, wsProblems)
			if err != nil {
				return err
			}
			if asJSON {
				if err := report.JSON(a.stdout, rep); err != nil {
					return err
				}
			} else {
				for _, p := range rep.Problems {
					fmt.Fprintln(a.stdout, p.Message)
				}
				if len(rep.Problems) > 0 {
					fmt.Fprintln(a.stdout)
				}
				fmt.Fprintf(a.stdout, "checked %s, %s, %s, %s: ",
					rep.Workspace, plural.Count(len(rep.RepoConfigs), "repo .cascade.yaml file"),
					plural.Count(len(rep.Plans), "plan file"), plural.Count(rep.People, "person"))
				if len(rep.Problems) == 0 {
					fmt.Fprintln(a.stdout, "no problems")
				} else {
					fmt.Fprintln(a.stdout, plural.Count(len(rep.Problems), "problem"))
				}
			}
			if len(rep.Problems) > 0 {
				return &silentError{errkind.New(errkind.Invalid, "%s", plural.Count(len(rep.Problems), "problem"))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

// brokenWorkspaceFile is the cascade.yaml that loadWorkspace found but
// could not read (its YAML does not parse), or "" when there is none.
func (a *app) brokenWorkspaceFile() string {
	file := a.workspaceFile
	if file == "" {
		wd, err := os.Getwd()
		if err != nil {
			return ""
		}
		if file, err = workspace.Find(wd); err != nil {
			return ""
		}
	}
	abs, err := filepath.Abs(file)
	if err != nil {
		return ""
	}
	if fi, err := os.Stat(abs); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return abs
}

// check reads every file of the workspace. A problem in a file is a
// problem of the report; a repository that cannot be read is an error.
func (a *app) check(ws *workspace.Workspace, refs map[string]string, wsProblems error) (*checkReport, error) {
	rep := &checkReport{SchemaVersion: 1, Workspace: ws.File, People: len(ws.People), RepoConfigs: []string{}, Plans: []string{}, Problems: []checkProblem{}}
	rep.addProblems(ws.File, wsProblems)
	for _, w := range ws.Warnings {
		fmt.Fprintf(a.stderr, "warning: %s\n", w)
	}
	cache, err := a.cache()
	if err != nil {
		return nil, err
	}
	for _, spec := range ws.Repos {
		git, err := scan.Open(a.ctx, spec, cache, a.fetch)
		if err != nil {
			return nil, err
		}
		ref := refs[spec.Name]
		if ref == "" {
			ref = spec.Branch
		}
		if ref == "" {
			ref = "HEAD"
		}
		commit, err := git.Resolve(a.ctx, ref)
		if err != nil {
			if errkind.Of(err) == errkind.Invalid || errkind.Of(err) == errkind.NotFound {
				rep.Problems = append(rep.Problems, checkProblem{File: spec.Name + "@" + ref, Message: fmt.Sprintf("%s@%s: %v", spec.Name, ref, err), Kind: "not_found"})
				continue
			}
			return nil, err
		}
		name := spec.Name + "@" + ref + ":" + workspace.RepoConfigFile
		data, err := git.ReadFile(a.ctx, commit, workspace.RepoConfigFile)
		if errkind.Of(err) == errkind.NotFound {
			continue
		}
		if err != nil {
			if errkind.Of(err) == errkind.Invalid {
				rep.addProblems(name, err)
				continue
			}
			return nil, err
		}
		rep.RepoConfigs = append(rep.RepoConfigs, name)
		cfg, err := workspace.ParseRepoConfig(name, data)
		rep.addProblems(name, err)
		_, err = runbook.Parse(name, data)
		rep.addProblems(name, err)
		if cfg != nil && len(cfg.APISchemas) > 0 {
			if err := a.checkSchemas(rep, git, name, spec.Name+"@"+ref, commit, cfg.APISchemas); err != nil {
				return nil, err
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(ws.Dir, plan.Dir, "*.yaml"))
	if err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	sort.Strings(files)
	for _, f := range files {
		rep.Plans = append(rep.Plans, f)
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		p, err := plan.Parse(f, data)
		if err != nil {
			rep.addProblems(f, err)
			continue
		}
		if len(ws.Repos) == 0 {
			continue // cascade.yaml named none: nothing to check the plan against
		}
		for i, c := range p.Changes {
			if !hasRepo(ws, c.Repo) {
				rep.Problems = append(rep.Problems, newProblem(f, fmt.Errorf("%s: change %s@%s: no repo %q in %s%s", p.Where(fmt.Sprintf("changes[%d].repo", i)), c.Repo, c.Ref, c.Repo, ws.File,
					suggest.DidYouMean(c.Repo, repoNames(ws), strconv.Quote))))
			}
		}
		if len(ws.People) > 0 && ws.PersonNamed(p.Manager) == nil {
			rep.Problems = append(rep.Problems, newProblem(f, fmt.Errorf("%s: manager %q is not one of the people in %s%s", p.Where("manager"), p.Manager, ws.File, suggest.DidYouMean(p.Manager, personNames(ws), strconv.Quote))))
		}
	}
	// Each file's problems in the order of their lines, the files in
	// the order they were checked.
	rank := map[string]int{}
	for _, p := range rep.Problems {
		if _, ok := rank[p.File]; !ok {
			rank[p.File] = len(rank)
		}
	}
	slices.SortStableFunc(rep.Problems, func(a, b checkProblem) int {
		if c := rank[a.File] - rank[b.File]; c != 0 {
			return c
		}
		return a.Line - b.Line
	})
	return rep, nil
}

// checkSchemas compiles every JSON Schema file a repo's `api:` names at
// commit, as semver and schema-diff will: a glob that matches no file, a
// file that is not JSON or not a schema, is a problem of the report. A
// schema too large for cascade to compare, or one that takes longer than
// schema-diff's time limit to compile, is not a problem of the file: it
// is left undecided there, and said here on stderr.
func (a *app) checkSchemas(rep *checkReport, git *gitrepo.Repo, config, at, commit string, globs []string) error {
	b, err := git.OpenBatch(a.ctx)
	if err != nil {
		return err
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(a.ctx, schemadiff.DefaultTimeout)
	defer cancel()
	for _, glob := range globs {
		files, err := b.Glob(commit, glob)
		if err != nil {
			if errkind.Of(err) == errkind.Infra {
				return err
			}
			rep.addProblems(config, fmt.Errorf("%s: api.jsonschema %q: %w", config, glob, err))
			continue
		}
		if len(files) == 0 {
			rep.addProblems(config, fmt.Errorf("%s: api.jsonschema %q matches no file at %s; fix the glob (it is relative to the repo's root)", config, glob, at))
			continue
		}
		for _, f := range files {
			name := at + ":" + f
			data, err := b.ReadFile(commit, f, gitrepo.MaxManifest)
			if err != nil {
				if errkind.Of(err) == errkind.Infra {
					return err
				}
				rep.addProblems(name, fmt.Errorf("%s: %w", name, err))
				continue
			}
			_, err = schemadiff.LoadContext(ctx, name, data)
			if _, tooBig := schemadiff.NotCompared(err); err != nil && (tooBig || ctx.Err() != nil) {
				fmt.Fprintf(a.stderr, "warning: %s: not checked: %v\n", name, err)
				continue
			}
			if a.ctx.Err() != nil {
				return a.ctx.Err()
			}
			rep.addProblems(name, err)
		}
	}
	return nil
}

// hasRepo reports whether ws names repo.
func hasRepo(ws *workspace.Workspace, repo string) bool {
	for _, r := range ws.Repos {
		if r.Name == repo {
			return true
		}
	}
	return false
}

func repoNames(ws *workspace.Workspace) []string {
	var out []string
	for _, r := range ws.Repos {
		out = append(out, r.Name)
	}
	return out
}

func personNames(ws *workspace.Workspace) []string {
	var out []string
	for _, p := range ws.People {
		out = append(out, p.Name)
	}
	return out
}
