package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/sandbox"
)

func (a *app) sandboxCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "sandbox",
		Short: "The isolation of the builds, tests and steps cascade runs",
	}
	var asJSON bool
	check := &cobra.Command{
		Use:   "check",
		Short: "Print what isolation this machine gives the commands cascade runs",
		Long: `Print what isolation this machine gives the commands cascade runs (downstream
builds and tests, benchmarks, runbook run and check steps), by trying each
protection: namespaces, limits, the disk cap, seccomp, Landlock, overlays;
then what the sandbox leaves open.

Exits 0 when every required protection works, 1 when one is missing: cascade
then refuses to run untrusted code unless --unsafe-sandbox is given.`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fs := sandbox.Check(a.ctx)
			missing := 0
			for _, f := range fs {
				if f.Required && !f.OK {
					missing++
				}
			}
			if asJSON {
				if err := report.JSON(a.stdout, map[string]any{"features": fs, "isolated": missing == 0, "not_isolated": sandbox.NotIsolated()}); err != nil {
					return err
				}
			} else {
				tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
				for _, f := range fs {
					state := "yes"
					switch {
					case !f.OK && f.Required:
						state = "MISSING"
					case !f.OK:
						state = "no"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\n", f.Name, state, f.Detail)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, "Not isolated:")
				for _, n := range sandbox.NotIsolated() {
					fmt.Fprintf(a.stdout, "  - %s\n", n)
				}
				if missing == 0 {
					fmt.Fprintln(a.stdout, "Untrusted code runs isolated on this machine.")
				} else {
					fmt.Fprintln(a.stdout, "cascade refuses to run untrusted code here unless --unsafe-sandbox is given.")
				}
			}
			if missing > 0 {
				return &silentError{errkind.New(errkind.Problem, "%d required protections missing", missing)}
			}
			return nil
		},
	}
	check.Flags().BoolVar(&asJSON, "json", false, "print one JSON document")
	cmd.AddCommand(check)
	return cmd
}
