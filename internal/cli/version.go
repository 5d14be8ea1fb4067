package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/report"
)

// Version is set at build time with -ldflags "-X .../internal/cli.Version=v1.2.3".
var Version = ""

func versionInfo() (version, revision string) {
	version = Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		if version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	if version == "" {
		version = "devel"
	}
	return version, revision
}

func (a *app) versionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print cascade's version",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, rev := versionInfo()
			if asJSON {
				return report.JSON(a.stdout, map[string]string{"version": v, "revision": rev, "go": runtime.Version()})
			}
			if rev != "" {
				v += " (" + rev + ")"
			}
			_, err := fmt.Fprintf(a.stdout, "cascade %s %s %s/%s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	return cmd
}
