// Command cascade coordinates releases that span several repositories: it
// knows the workspace's dependency graph, verifies downstreams against an
// upstream candidate, and plans and executes releases.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	_ "time/tzdata" // release windows name time zones; do not depend on the host's zoneinfo

	"github.com/cascade-dev/cascade/internal/cli"
	"github.com/cascade-dev/cascade/internal/schemadiff"
)

func main() { os.Exit(run()) }

// run is the whole program: Ctrl-C and SIGTERM cancel its context, which
// stops every child process and cleans up before it returns.
func run() int {
	pinZones()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	schemadiff.StopMatchingWhenDone(ctx)
	return cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
}

// pinZones makes the policy's time zones (release windows, freezes) come
// from the system's zoneinfo (/usr/share/zoneinfo) or the copy built into
// cascade, never from a directory the environment names: Go's
// time.LoadLocation reads $ZONEINFO first, so a made-up database there
// (America/Los_Angeles at UTC-46) would open a closed window. It runs
// before anything loads a zone (Go reads ZONEINFO once, at the first
// load). TZ needs nothing: it sets only time.Local, which no gate uses
// (a policy cannot name Local).
func pinZones() {
	os.Unsetenv("ZONEINFO")
}
