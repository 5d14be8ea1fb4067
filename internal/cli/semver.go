package cli

import (
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/semver"
)

func (a *app) semverCommand() *cobra.Command {
	var opt semver.Options
	var asJSON bool
	var with []string
	cmd := &cobra.Command{
		Use:   "semver REPO",
		Short: "Compute the version bump a change needs, and check a proposed version",
		Long: `Compare each Go module of REPO between its base release and the head (the
default branch, or --head): the exported API (packages added and removed
count; internal and main packages do not), the go.mod requirements and go
directive, and the JSON Schemas the repo declares as its API in
.cascade.yaml (a tightened schema is a breaking change).

The base release: without --base, the module's highest semver tag reachable
from the head; with a proposed version (--proposed, or a version tag on the
head commit), the highest release below it, prereleases aside. --base names the root
module's release (or dir/vX.Y.Z a nested module's); every other module of
the repo is compared with its own highest tag reachable from that commit,
or with none. A release from before the module had a go.mod is loaded as a
module with the head's path.

Requirements: a new requirement, a requirement raised to a higher major or
minor version, or a raised go directive needs at least a minor release; a
patch-level raise, a lowered or a removed requirement needs no more than a
patch release.

It prints the bump the changes need (major, minor, patch or none) and the
next version. With --proposed (or a version tag on the head commit) it
checks that version: an under-bump, or a version already tagged on another
commit, exits 1 with the reason. Below v1, a breaking change needs a minor
bump; from v2 on, a major release must change the module path's /vN suffix.

--with REPO@REF (repeatable) builds the head with another workspace repo's
ref in place, for a head that needs an unreleased upstream, as verify does;
nothing is written into either repo. A requirement on that upstream counts
as raised by the release: by the ref's version if it is tagged, else as a
minor raise until it is released.`,
		Example: `  cascade semver clever-db --head strict-where --proposed v1.5.0
  cascade semver json-schema-converter --head strict-where --json
  cascade semver clever-api --head adapt-strict-where --with clever-db@strict-where
  cascade semver cast --base v1.8.0`,
		Args: usageArgs,
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
			opt.With = nil
			for _, w := range with {
				opt.With = append(opt.With, strings.TrimSpace(w))
			}
			prog := a.newProgress("semver", 0)
			var started time.Time
			opt.Progress = func(module string, done bool, total int) {
				prog.setTotal(total)
				if !done {
					started = time.Now()
					prog.begin(module)
					return
				}
				prog.finish(module, "compared", time.Since(started))
			}
			rep, err := semver.Check(a.ctx, g, opt)
			prog.stop()
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
	f.StringVar(&opt.Base, "base", "", "the root module's release `VERSION` to compare with, or dir/vX.Y.Z a nested module's (default: the highest semver tag reachable from the head, below the head's own)")
	f.StringVar(&opt.Head, "head", "", "the `REF` to check (default: the repo's branch)")
	f.StringVar(&opt.Proposed, "proposed", "", "the `VERSION` to check (default: a version tag on the head commit)")
	refList(f, &with, "with", "another repo's ref the head is built with, `REPO@REF` (repeatable)", "the head is built with a branch, tag, commit or directory of each repo")
	f.BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}
