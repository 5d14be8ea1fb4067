package cli

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/schemadiff"
	"github.com/cascade-dev/cascade/internal/verify"
)

func (a *app) schemaDiffCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "schema-diff OLD NEW",
		Short: "Show what a new JSON Schema rejects that the old one accepted, and the reverse",
		Long: `Compare two JSON Schemas (drafts 7, 2019-09 and 2020-12) keyword by keyword:
what NEW rejects that OLD accepted (tightened: a breaking change for the API's
clients) and what it accepts that OLD rejected (loosened). Every finding comes
with a witness, an instance checked with a validator against both schemas.
What cannot be decided (a changed if, a rewritten pattern, oneOf branches
that may overlap with no example found, ...) is listed as unknown with its
path and the reason, and counts as breaking until a person reviews it.

OLD and NEW are files, or REPO@REF:PATH to read a file of a workspace repo at
a branch, tag or commit.

Exit codes: 0 nothing tightened and nothing undecided (only loosened, or no
difference); 1 something is tightened (NEW rejects an instance OLD accepted)
or undecided (unknown: treated as breaking), the text's last lines say which;
2 bad input (invalid JSON or schema, with the position); 3 infrastructure
failure. With --json, "breaking" is true in both exit-1 cases.`,
		Example: `  cascade schema-diff old/where.json schemas/where.json
  cascade schema-diff clever-api@master:schemas/where.json clever-api@adapt-strict-where:schemas/where.json`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, argv []string) error {
			old, err := a.loadSchema(argv[0])
			if err != nil {
				return err
			}
			new, err := a.loadSchema(argv[1])
			if err != nil {
				return err
			}
			res := schemadiff.Compare(old, new)
			if asJSON {
				err = report.JSON(a.stdout, res)
			} else {
				err = report.SchemaDiffText(a.stdout, old.Name, new.Name, res)
			}
			if err != nil {
				return err
			}
			if len(res.Tightened) > 0 {
				return &silentError{errkind.New(errkind.Problem, "the new schema rejects instances the old one accepted")}
			}
			if res.Breaking {
				return &silentError{errkind.New(errkind.Problem, "some changes could not be decided; they count as breaking")}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}

// loadSchema reads a schema from a file or from REPO@REF:PATH.
func (a *app) loadSchema(arg string) (*schemadiff.Schema, error) {
	data, err := a.readSource(arg)
	if err != nil {
		return nil, err
	}
	return schemadiff.Load(arg, data)
}

// readSource reads a file, or REPO@REF:PATH from the workspace's git data.
func (a *app) readSource(arg string) ([]byte, error) {
	if _, err := os.Stat(arg); err == nil {
		data, err := os.ReadFile(arg)
		if err != nil {
			return nil, errkind.New(errkind.Invalid, "cannot read %s: %v", arg, err)
		}
		return data, nil
	}
	spec, path, ok := strings.Cut(arg, ":")
	repoName, ref := verify.SplitRef(spec)
	if !ok || path == "" || ref == "" {
		if !strings.Contains(arg, "@") {
			return nil, errkind.New(errkind.Invalid, "no file %s; give a schema file or REPO@REF:PATH", arg)
		}
		return nil, errkind.New(errkind.Invalid, "%s is neither a file nor REPO@REF:PATH", arg)
	}
	_, g, err := a.loadGraph()
	if err != nil {
		return nil, err
	}
	i, err := g.Lookup(repoName)
	if err != nil {
		return nil, err
	}
	r := g.Repos[i]
	commit, err := r.Git.Resolve(a.ctx, ref)
	if err != nil {
		if errkind.Of(err) == errkind.NotFound {
			return nil, errkind.New(errkind.Invalid, "repo %s has no branch, tag or commit %q", r.Name, ref)
		}
		return nil, err
	}
	data, err := r.Git.ReadFile(a.ctx, commit, strings.TrimPrefix(path, "/"))
	if err != nil {
		if errkind.Of(err) == errkind.NotFound {
			return nil, errkind.New(errkind.Invalid, "%s: repo %s has no file %s at %s", arg, r.Name, path, ref)
		}
		return nil, err
	}
	return data, nil
}
