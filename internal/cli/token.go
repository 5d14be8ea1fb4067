package cli

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/auth"
	"github.com/cascade-dev/cascade/internal/report"
)

func (a *app) tokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "List and revoke your tokens on a cascade server",
	}
	cmd.AddCommand(a.tokenList(), a.tokenRevoke())
	return cmd
}

func (a *app) tokenList() *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List your API tokens on the server (the one this machine holds is marked)",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(&sf)
			if err != nil {
				return err
			}
			held, err := a.storedToken(c)
			if err != nil {
				return err
			}
			list, err := c.Tokens(a.ctx, held.Token)
			if err != nil {
				return err
			}
			if sf.asJSON {
				return report.JSON(a.stdout, struct {
					Server string `json:"server"`
					*auth.TokenList
				}{c.Server, list})
			}
			now := a.now().UTC().Format("2006-01-02T15:04:05.000000000Z")
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "ID\tNAME\tCREATED\tEXPIRES\tLAST USED\tSTATE\n")
			for _, t := range list.Tokens {
				state := "active"
				switch {
				case t.RevokedAt != "":
					state = "revoked " + day(t.RevokedAt)
				case t.Expires <= now:
					state = "expired"
				}
				if t.ID == list.Current {
					state += " (this machine)"
				}
				last := day(t.LastUsed)
				if last == "" {
					last = "never"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, day(t.Created), day(t.Expires), last, state)
			}
			return tw.Flush()
		},
	}
	sf.define(cmd)
	return cmd
}

// day is a stored time's date and minute.
func day(stamp string) string {
	if len(stamp) < 16 {
		return stamp
	}
	return stamp[:10] + " " + stamp[11:16]
}

func (a *app) tokenRevoke() *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke one of your tokens (`cascade token list` shows their IDs)",
		Args:  usageArgs,
		RunE: func(cmd *cobra.Command, argv []string) error {
			c, err := a.client(&sf)
			if err != nil {
				return err
			}
			held, err := a.storedToken(c)
			if err != nil {
				return err
			}
			id := argv[0]
			if err := c.Revoke(a.ctx, held.Token, id); err != nil {
				return err
			}
			forgotten := false
			if id == held.ID {
				// The token this machine holds is dead: it is dropped from
				// the credentials file too.
				file, err := a.credentialsFile()
				if err != nil {
					return err
				}
				creds, err := auth.LoadCredentials(file)
				if err != nil {
					return err
				}
				delete(creds.Servers, c.Server)
				if err := creds.Save(file); err != nil {
					return err
				}
				forgotten = true
			}
			if sf.asJSON {
				return report.JSON(a.stdout, map[string]any{"server": c.Server, "revoked": id, "forgotten": forgotten})
			}
			msg := fmt.Sprintf("Revoked token %s on %s", id, c.Server)
			if forgotten {
				msg += "; it was this machine's, so log in again to use the server"
			}
			_, err = fmt.Fprintln(a.stdout, msg)
			return err
		},
	}
	sf.define(cmd)
	return cmd
}
