package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/runbook"
	"github.com/cascade-dev/cascade/internal/scan"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// checkProblem is one problem `cascade check` found.
type checkProblem struct {
	File    string `json:"file"`
	Message string `json:"message"`
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
			if err != nil {
				if asJSON && errkind.Of(err) == errkind.Invalid {
					file := a.workspaceFile
					if file == "" {
						if wd, werr := os.Getwd(); werr == nil {
							file, _ = workspace.Find(wd)
						}
					}
					rep := checkReport{SchemaVersion: 1, Workspace: file, RepoConfigs: []string{}, Plans: []string{}, Problems: []checkProblem{{File: file, Message: err.Error()}}}
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
			rep, err := a.check(ws, refs)
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
				fmt.Fprintf(a.stdout, "checked %s, %d repo .cascade.yaml %s, %d plan %s, %d %s: ",
					rep.Workspace, len(rep.RepoConfigs), plural(len(rep.RepoConfigs), "file", "files"),
					len(rep.Plans), plural(len(rep.Plans), "file", "files"), rep.People, plural(rep.People, "person", "people"))
				if len(rep.Problems) == 0 {
					fmt.Fprintln(a.stdout, "no problems")
				} else {
					fmt.Fprintf(a.stdout, "%d %s\n", len(rep.Problems), plural(len(rep.Problems), "problem", "problems"))
				}
			}
			if len(rep.Problems) > 0 {
				return &silentError{errkind.New(errkind.Invalid, "%d problems", len(rep.Problems))}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

// check reads every file of the workspace. A problem in a file is a
// problem of the report; a repository that cannot be read is an error.
func (a *app) check(ws *workspace.Workspace, refs map[string]string) (*checkReport, error) {
	rep := &checkReport{SchemaVersion: 1, Workspace: ws.File, People: len(ws.People), RepoConfigs: []string{}, Plans: []string{}, Problems: []checkProblem{}}
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
				rep.Problems = append(rep.Problems, checkProblem{File: spec.Name, Message: fmt.Sprintf("%s@%s: %v", spec.Name, ref, err)})
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
				rep.Problems = append(rep.Problems, checkProblem{File: name, Message: err.Error()})
				continue
			}
			return nil, err
		}
		rep.RepoConfigs = append(rep.RepoConfigs, name)
		seen := map[string]bool{}
		add := func(err error) {
			if err != nil && !seen[err.Error()] {
				seen[err.Error()] = true
				rep.Problems = append(rep.Problems, checkProblem{File: name, Message: err.Error()})
			}
		}
		_, err = workspace.ParseRepoConfig(name, data)
		add(err)
		_, err = runbook.Parse(name, data)
		add(err)
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
			rep.Problems = append(rep.Problems, checkProblem{File: f, Message: err.Error()})
			continue
		}
		for _, c := range p.Changes {
			if !hasRepo(ws, c.Repo) {
				rep.Problems = append(rep.Problems, checkProblem{File: f, Message: fmt.Sprintf("%s: change %s@%s: no repo %q in %s", f, c.Repo, c.Ref, c.Repo, ws.File)})
			}
		}
		if len(ws.People) > 0 && ws.PersonNamed(p.Manager) == nil {
			rep.Problems = append(rep.Problems, checkProblem{File: f, Message: fmt.Sprintf("%s: manager %q is not one of the people in %s", f, p.Manager, ws.File)})
		}
	}
	return rep, nil
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
