package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/auth"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/report"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// serverFlags are the flags of the commands that talk to a cascade server.
type serverFlags struct {
	server string
	asJSON bool
}

func (sf *serverFlags) define(cmd *cobra.Command) {
	cmd.Flags().StringVar(&sf.server, "server", "", "the cascade server's `URL` (default: $CASCADE_SERVER)")
	cmd.Flags().BoolVar(&sf.asJSON, "json", false, "print one JSON document")
}

// client is a client of the server --server or $CASCADE_SERVER names.
func (a *app) client(sf *serverFlags) (*auth.Client, error) {
	server := sf.server
	if server == "" {
		server = a.getenv("CASCADE_SERVER")
	}
	if server == "" {
		return nil, errkind.New(errkind.Invalid, "which server? pass --server URL or set CASCADE_SERVER=URL")
	}
	c, err := auth.NewClient(server)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(c.Server, "http://") && !isLoopback(c.Server) {
		fmt.Fprintf(a.stderr, "cascade: warning: %s is plain HTTP: the token travels unencrypted; use https://\n", c.Server)
	}
	return c, nil
}

func isLoopback(origin string) bool {
	host := strings.TrimPrefix(origin, "http://")
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return host == "localhost" || strings.HasPrefix(host, "127.") || host == "[::1]"
}

// credentialsFile is where the tokens are kept: $XDG_CONFIG_HOME (or the
// user config directory)/cascade/credentials.json.
func (a *app) credentialsFile() (string, error) {
	dir := a.getenv("XDG_CONFIG_HOME")
	if dir == "" || !filepath.IsAbs(dir) {
		d, err := os.UserConfigDir()
		if err != nil {
			return "", errkind.New(errkind.Invalid, "no user config directory to keep the token in (%v); set XDG_CONFIG_HOME", err)
		}
		dir = d
	}
	return auth.CredentialsFile(dir), nil
}

// storedToken is the token kept for c's server.
func (a *app) storedToken(c *auth.Client) (auth.StoredToken, error) {
	file, err := a.credentialsFile()
	if err != nil {
		return auth.StoredToken{}, err
	}
	creds, err := auth.LoadCredentials(file)
	if err != nil {
		return auth.StoredToken{}, err
	}
	t, ok := creds.Servers[c.Server]
	if !ok {
		return auth.StoredToken{}, errkind.New(errkind.Invalid, "no token for %s in %s: run `cascade login --server %s` first", c.Server, file, c.Server)
	}
	return t, nil
}

func (a *app) loginCommand() *cobra.Command {
	var sf serverFlags
	var key, person string
	var web bool
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Log in to a cascade server with your SSH key (keeps a token, or prints a dashboard code with --web)",
		Long: `Log in to a cascade server by proving you hold your SSH key: the server
gives a single-use challenge naming you, the server and an expiry; cascade
signs it with your key (namespace cascade-login, so the signature is good
for this login only) and the server answers with a token.

The token is kept in the user config directory's cascade/credentials.json
($XDG_CONFIG_HOME/cascade/credentials.json, mode 0600), one per server; the
commands that talk to the server send it. See ` + "`cascade token`" + ` to list and
revoke tokens.

With --web nothing is kept: the server answers a one-time code (valid five
minutes, for one use) to type into the dashboard's login form.`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.client(&sf)
			if err != nil {
				return err
			}
			if key == "" {
				key = a.defaultSigningKey()
			}
			if key == "" {
				return errkind.New(errkind.Invalid, "no key to log in with: pass --key FILE (your SSH private key, or a .pub file whose key is in ssh-agent), or set CASCADE_SIGNING_KEY=FILE")
			}
			if person == "" {
				if person, err = a.personOfKey(key); err != nil {
					return err
				}
			}
			purpose := "token"
			if web {
				purpose = "web"
			}
			host, _ := os.Hostname()
			ans, err := c.Login(a.ctx, person, key, strings.HasSuffix(key, ".pub"), purpose, host)
			if err != nil {
				return err
			}
			if web {
				if sf.asJSON {
					return report.JSON(a.stdout, map[string]any{"server": c.Server, "person": ans.Person, "code": ans.Code, "expires": ans.Expires})
				}
				_, err := fmt.Fprintf(a.stdout, "Your one-time code for the dashboard (valid until %s, for one use):\n\n    %s\n\nOpen %s/login and enter it with your name, %s.\n", ans.Expires, ans.Code, c.Server, ans.Person)
				return err
			}
			file, err := a.credentialsFile()
			if err != nil {
				return err
			}
			creds, err := auth.LoadCredentials(file)
			if err != nil {
				return err
			}
			creds.Servers[c.Server] = auth.StoredToken{Person: ans.Person, ID: ans.ID, Token: ans.Token, Expires: ans.Expires}
			if err := creds.Save(file); err != nil {
				return err
			}
			if sf.asJSON {
				return report.JSON(a.stdout, map[string]any{"server": c.Server, "person": ans.Person, "id": ans.ID, "expires": ans.Expires, "credentials": file})
			}
			_, err = fmt.Fprintf(a.stdout, "Logged in to %s as %s: token %s (expires %s) kept in %s\n", c.Server, ans.Person, ans.ID, ans.Expires, file)
			return err
		},
	}
	sf.define(cmd)
	cmd.Flags().StringVar(&key, "key", "", "your SSH private key `FILE` (or a .pub file whose key is in ssh-agent) (default: $CASCADE_SIGNING_KEY, else git config --global user.signingkey)")
	cmd.Flags().StringVar(&person, "person", "", "your `NAME` in cascade.yaml `people:` (default: the person whose key --key is, in the workspace here)")
	cmd.Flags().BoolVar(&web, "web", false, "print a one-time code for the dashboard's login form instead of keeping a token")
	return cmd
}

// personOfKey finds, in the workspace here, the person whose key is in
// keyFile.
func (a *app) personOfKey(keyFile string) (string, error) {
	ws, err := a.loadWorkspace()
	if err != nil {
		return "", errkind.New(errkind.Invalid, "pass --person NAME (your name in the server's cascade.yaml `people:`): there is no workspace here to find it in (%v)", err)
	}
	pub, err := auth.PublicKey(a.ctx, keyFile)
	if err != nil {
		return "", err
	}
	var found []workspace.Person
	for _, p := range ws.People {
		for _, k := range p.Keys {
			if auth.SameKey(k, pub) {
				found = append(found, p)
				break
			}
		}
	}
	if len(found) != 1 {
		return "", errkind.New(errkind.Invalid, "%s is the key of %d people in %s `people:`; pass --person NAME", keyFile, len(found), ws.File)
	}
	return found[0].Name, nil
}
