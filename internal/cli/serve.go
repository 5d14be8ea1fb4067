package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/auth"
	"github.com/cascade-dev/cascade/internal/dashboard"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/identity"
	"github.com/cascade-dev/cascade/internal/jobs"
	"github.com/cascade-dev/cascade/internal/server"
	"github.com/cascade-dev/cascade/internal/store"
	"github.com/cascade-dev/cascade/internal/workspace"
)

func (a *app) serveCommand() *cobra.Command {
	var addr, db, logFormat, serverURL, keyFile string
	var publicRead, noWorker bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the workspace over HTTP: the JSON API, logins, verification runs, release actions and the dashboard",
		Long: `Serve the workspace over HTTP: the API under /api/v1 answers with the same
JSON documents the commands print with --json (graph, repos, downstream and
upstream, plans, release status and log, the audit log), errors as
application/problem+json, and describes itself at /api/v1/openapi.json.
/healthz, /readyz and /metrics (Prometheus) are for operations. People log
in with their SSH keys (cascade login); the dashboard is at /. Verification
runs (POST /api/v1/verifications) are worked in the background by this
process unless --no-worker. Release actions (confirm, retry, override,
abort, next) are signed with the server's own key (--key, made on first
start), which cascade.yaml must list under servers:.

The server listens on 127.0.0.1:8080 unless --addr says otherwise, and keeps
its state in the same database as release (--db, default $CASCADE_DB, else
.cascade/cascade.db beside cascade.yaml). Reads need a login unless
--public-read. Ctrl-C or SIGTERM stop it: it stops accepting connections
and lets the requests in flight finish first.

See ` + "`cascade help serve`" + ` for the routes and the error format.`,
		Example: `  cascade serve --public-read
  cascade serve --addr 127.0.0.1:9000 --db postgres://cascade@db.internal/cascade --log-format json`,
		Args: usageArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var h slog.Handler
			switch logFormat {
			case "text":
				h = slog.NewTextHandler(a.stderr, nil)
			case "json":
				h = slog.NewJSONHandler(a.stderr, nil)
			default:
				return errkind.New(errkind.Invalid, "--log-format %q: use text or json", logFormat)
			}
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return errkind.New(errkind.Invalid, "--addr %q: want HOST:PORT, such as 127.0.0.1:8080 (%v)", addr, err)
			}
			log := slog.New(h)
			ws, err := a.loadWorkspace()
			if err != nil {
				return err
			}
			cache, err := a.cache()
			if err != nil {
				return err
			}
			st, err := store.Open(a.ctx, a.stateDB(ws, db))
			if err != nil {
				return err
			}
			defer st.Close()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				if errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EACCES) {
					return errkind.New(errkind.Invalid, "cannot listen on --addr %s: %v; pick another address or port", addr, err)
				}
				return errkind.Wrap(errkind.Infra, err)
			}
			defer ln.Close()
			if serverURL == "" {
				serverURL = "http://" + ln.Addr().String()
			}
			origin, err := auth.Origin(serverURL)
			if err != nil {
				return errkind.New(errkind.Invalid, "--url %q: %v", serverURL, err)
			}
			var srv *server.Server
			// Not srv.People: that method value would bind the nil srv of now.
			svc := &auth.Service{Store: st, Now: a.now, Origin: origin,
				People: func() []workspace.Person { return srv.People() }}
			workers := 1
			if noWorker {
				workers = 0
			}
			js, err := jobs.Open(a.ctx, st, jobs.Config{Workspace: ws.File, CacheDir: cache, Workers: workers, Logger: log, Now: a.now})
			if err != nil {
				return err
			}
			stopJobs := true // until the server stops them
			defer func() {
				if stopJobs {
					js.Stop(context.WithoutCancel(a.ctx))
				}
			}()
			if keyFile == "" {
				keyFile = filepath.Join(ws.Dir, ".cascade", "server_key")
			}
			pub, err := serverKey(a.ctx, keyFile)
			if err != nil {
				return err
			}
			pages := &server.PageSource{Jobs: js}
			dash, err := dashboard.New(dashboard.Config{Source: pages, Person: svc.Person, CSRFToken: auth.CSRFToken,
				CSRFField: auth.CSRFField, RequireLogin: !publicRead, Logger: log})
			if err != nil {
				return err
			}
			broker := dash.Broker()
			defer broker.Close()
			verifications := &server.Verifications{System: js, Logger: log, Middleware: svc.CSRF,
				Changed: func(id int64, ev jobs.Event) {
					broker.Publish(dashboard.RunTopic(strconv.FormatInt(id, 10)), dashboard.Event{Name: "update", Data: ev.Kind})
				}}
			srv, err = server.New(server.Config{Workspace: ws, Store: st, CacheDir: cache, Logger: log, Now: a.now, PublicRead: publicRead,
				Authenticator: svc, Jobs: verifications,
				Actions: &server.Actions{KeyFile: keyFile, PublicKey: pub, Middleware: svc.CSRF,
					Changed: func(plan string) {
						broker.Publish(dashboard.ReleaseTopic(plan), dashboard.Event{Name: "update", Data: "release"})
					}}, Routes: server.LoginRoutes(svc.Handler()), Pages: dash.Handler()})
			if err != nil {
				return err
			}
			pages.Server = srv
			// Not a.ctx: the server stops the jobs itself once it has stopped taking
			// requests, letting the running one finish until its deadline.
			if err := js.Start(context.WithoutCancel(a.ctx)); err != nil {
				return err
			}
			// The runs left unfinished (this server may resume them) update
			// their pages live too.
			if runs, err := js.Runs(a.ctx, 1000); err == nil {
				for _, r := range runs {
					if r.State == jobs.StateQueued || r.State == jobs.StateRunning {
						verifications.Watch(r.ID)
					}
				}
			}
			if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
				log.Warn("listening on a non-loopback address: anyone who reaches it may read, unless the server needs a login", "addr", ln.Addr().String(), "public_read", publicRead)
			}
			fmt.Fprintf(a.stdout, "cascade: serving %s on http://%s/\n", ws.Dir, ln.Addr())
			if name := server.ServerName(ws, pub); name != "" {
				fmt.Fprintf(a.stdout, "cascade: signing release actions as server %s with %s\n", name, keyFile)
			} else {
				fmt.Fprintf(a.stdout, "cascade: to let people act through this server, list its key under `servers:` in %s:\n  servers:\n    - name: NAME\n      keys: [%q]\n", ws.File, strings.TrimSpace(pub))
			}
			fmt.Fprintf(a.stdout, "cascade: log in with: cascade login --server %s --key YOUR_SSH_KEY (the dashboard: add --web)\n", origin)
			log.Info("serving", "workspace", ws.File, "db", st.Path, "backend", st.Backend(), "addr", ln.Addr().String(), "public_read", publicRead)
			stopJobs = false
			if err := srv.Serve(a.ctx, ln); err != nil {
				return errkind.Wrap(errkind.Infra, err)
			}
			log.Info("stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "the `HOST:PORT` to listen on (port 0 picks a free one)")
	cmd.Flags().StringVar(&db, "db", "", dbFlagHelp)
	cmd.Flags().StringVar(&serverURL, "url", "", "the server's `URL` as its users reach it (logins name it; default http://ADDR)")
	cmd.Flags().StringVar(&keyFile, "key", "", "the server's own SSH private key `FILE`, made on first start, which signs the release actions people take here (default .cascade/server_key beside cascade.yaml)")
	cmd.Flags().BoolVar(&noWorker, "no-worker", false, "queue verification runs but leave working them to other processes")
	cmd.Flags().BoolVar(&publicRead, "public-read", false, "serve reads (GET) without a login")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "the log's `FORMAT` on stderr: text or json")
	return cmd
}

// serverKey is the public key line of the server's key at file, made
// (mode 0600) when there is none yet.
func serverKey(ctx context.Context, file string) (string, error) {
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
			return "", errkind.Wrap(errkind.Infra, err)
		}
		host, _ := os.Hostname()
		return identity.GenerateKey(ctx, file, "cascade-server@"+host)
	} else if err != nil {
		return "", errkind.Wrap(errkind.Infra, err)
	}
	return auth.PublicKey(ctx, file)
}
