// Package trace lets the caller of a long operation hear about every
// command cascade runs for it (git, builds, tests, benchmarks): the hook
// travels in the context, so the packages that run commands never print
// and never decide on their own whether to log.
package trace

import "context"

// Func hears about one command: its working directory and argv.
type Func func(dir string, argv []string)

type key struct{}

// WithCommands returns a context whose commands are reported to f.
func WithCommands(ctx context.Context, f Func) context.Context {
	return context.WithValue(ctx, key{}, f)
}

// Command reports a command about to run in dir to the context's hook,
// if any.
func Command(ctx context.Context, dir string, argv ...string) {
	if f, ok := ctx.Value(key{}).(Func); ok && f != nil {
		f(dir, argv)
	}
}

// Shell reports a command given as argv, or as a shell script when
// script is not empty (run as `sh -c SCRIPT`).
func Shell(ctx context.Context, dir string, argv []string, script string) {
	if script != "" {
		argv = []string{"sh", "-c", script}
	}
	Command(ctx, dir, argv...)
}
