package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/schemadiff"
	"github.com/cascade-dev/cascade/internal/verify"
)

func (a *app) schemaDiffCommand() *cobra.Command {
	var (
		asJSON  bool
		timeout time.Duration
	)
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
failure; 130 interrupted (Ctrl-C or SIGTERM, honoured within a second). With
--json, "breaking" is true in both exit-1 cases.

The work is bounded: recursive schemas are compared pair by pair, once; no
example has more than 10,000 items, properties or characters in one value
(a change that needs a bigger one is unknown, with that reason); and the
comparison stops after --timeout, listing what it did not reach as unknown.
Patterns are ECMA-262 regular expressions, as JSON Schema specifies
(lookahead, \u0000 escapes); a pattern change cascade cannot analyse is
shown with a witness or listed as unknown.`,
		Example: `  cascade schema-diff old/where.json schemas/where.json
  cascade schema-diff clever-api@master:schemas/where.json clever-api@adapt-strict-where:schemas/where.json`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			var res schemadiff.Result
			old, oerr := a.loadSchema(argv[0])
			new, nerr := a.loadSchema(argv[1])
			names := argv
			switch {
			case oerr != nil || nerr != nil:
				// A schema too deep to compile is not compared: unknown,
				// so breaking. Any other error is the user's to fix.
				err := errors.Join(oerr, nerr)
				r, ok := schemadiff.NotCompared(err)
				if !ok || (oerr != nil && !isNotCompared(oerr)) || (nerr != nil && !isNotCompared(nerr)) {
					return err
				}
				res = r
			default:
				names = []string{old.Name, new.Name}
				var err error
				res, err = schemadiff.CompareContext(a.ctx, old, new, schemadiff.Options{Timeout: timeout})
				if err != nil {
					return err
				}
			}
			var err error
			if asJSON {
				err = report.JSON(a.stdout, res)
			} else {
				err = report.SchemaDiffText(a.stdout, names[0], names[1], res)
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
	cmd.Flags().DurationVar(&timeout, "timeout", schemadiff.DefaultTimeout, "stop comparing after this `DURATION` (such as 30s); what is left is unknown (counted as breaking)")
	return cmd
}

func isNotCompared(err error) bool {
	_, ok := schemadiff.NotCompared(err)
	return ok
}

// loadSchema reads a schema from a file or from REPO@REF:PATH.
func (a *app) loadSchema(arg string) (*schemadiff.Schema, error) {
	data, err := a.readSource(arg)
	if err != nil {
		return nil, err
	}
	return schemadiff.LoadContext(a.ctx, arg, data)
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
		return nil, fmt.Errorf("%s: %w", arg, err)
	}
	return data, nil
}
