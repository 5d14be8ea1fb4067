package cli

import (
	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/semver"
)

func (a *app) semverCommand() *cobra.Command {
	var opt semver.Options
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "semver REPO",
		Short: "Compute the version bump a change needs, and check a proposed version",
		Long: `Compare each Go module of REPO between its base release (the highest semver
tag reachable from the head, or --base) and the head (the default branch, or
--head): the exported API (packages added and removed count; internal and
main packages do not), new or raised requirements and go directive (at least
a minor release), and the JSON Schemas the repo declares as its API in
.cascade.yaml (a tightened schema is a breaking change).

It prints the bump the changes need (major, minor, patch or none) and the
next version. With --proposed (or a version tag on the head commit) it
checks that version: an under-bump exits 1 with the changes that demand
more. Below v1, a breaking change needs a minor bump; from v2 on, a major
release must change the module path's /vN suffix.`,
		Example: `  cascade semver clever-db --head strict-where --proposed v1.5.0
  cascade semver json-schema-converter --head strict-where --json`,
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: a.repoCompletion,
		RunE: func(cmd *cobra.Command, argv []string) error {
			_, g, err := a.loadGraph()
			if err != nil {
				return err
			}
			cache, err := a.cache()
			if err != nil {
				return err
			}
			opt.Repo, opt.CacheDir = argv[0], cache
			rep, err := semver.Check(a.ctx, g, opt)
			if err != nil {
				return err
			}
			if asJSON {
				err = report.JSON(a.stdout, rep)
			} else {
				err = report.SemverText(a.stdout, rep)
			}
			if err != nil {
				return err
			}
			if !rep.OK() {
				return &silentError{errkind.New(errkind.Problem, "the proposed version under-promises")}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&opt.Base, "base", "", "the release to compare with (default: the highest semver tag reachable from the head)")
	f.StringVar(&opt.Head, "head", "", "the ref to check (default: the repo's branch)")
	f.StringVar(&opt.Proposed, "proposed", "", "the version to check (default: a version tag on the head commit)")
	f.BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}
