package cli

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/server"
	"github.com/cascade-dev/cascade/internal/store"
)

func (a *app) serveCommand() *cobra.Command {
	var addr, db, logFormat string
	var publicRead bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the workspace's graph, plans, releases and audit log over HTTP (JSON API)",
		Long: `Serve the workspace over HTTP: the API under /api/v1 answers with the same
JSON documents the commands print with --json (graph, repos, downstream and
upstream, plans, release status and log, the audit log), errors as
application/problem+json, and describes itself at /api/v1/openapi.json.
/healthz, /readyz and /metrics (Prometheus) are for operations.

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
			srv, err := server.New(server.Config{Workspace: ws, Store: st, CacheDir: cache, Logger: log, Now: a.now, PublicRead: publicRead})
			if err != nil {
				return err
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				if errors.Is(err, syscall.EADDRINUSE) || errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EACCES) {
					return errkind.New(errkind.Invalid, "cannot listen on --addr %s: %v; pick another address or port", addr, err)
				}
				return errkind.Wrap(errkind.Infra, err)
			}
			if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
				log.Warn("listening on a non-loopback address: anyone who reaches it may read, unless the server needs a login", "addr", ln.Addr().String(), "public_read", publicRead)
			}
			fmt.Fprintf(a.stdout, "cascade: serving %s on http://%s/\n", ws.Dir, ln.Addr())
			log.Info("serving", "workspace", ws.File, "db", st.Path, "backend", st.Backend(), "addr", ln.Addr().String(), "public_read", publicRead)
			if err := srv.Serve(a.ctx, ln); err != nil {
				return errkind.Wrap(errkind.Infra, err)
			}
			log.Info("stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "the `HOST:PORT` to listen on (port 0 picks a free one)")
	cmd.Flags().StringVar(&db, "db", "", dbFlagHelp)
	cmd.Flags().BoolVar(&publicRead, "public-read", false, "serve reads (GET) without a login")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "the log's `FORMAT` on stderr: text or json")
	return cmd
}
