package goproxy

import (
	"context"
	"path/filepath"

	"github.com/cascade-dev/cascade/internal/ecosystem/gomod"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/scan"
)

// ForWorkspace serves every Go module of the workspace and returns the
// environment of go commands that build against it (with cascade's module
// cache under cacheDir), and a function that stops the server.
func ForWorkspace(ctx context.Context, g *graph.Workspace, cacheDir string) ([]string, func(), error) {
	var sources []Source
	var names []string
	for _, r := range g.Repos {
		for _, m := range r.Modules {
			if m.Ecosystem == scan.Go && r.Git != nil {
				sources = append(sources, Source{Module: m.Name, Repo: r.Git, Dir: m.Dir})
				names = append(names, m.Name)
			}
		}
	}
	tool, err := gomod.LookupToolchain(ctx)
	if err != nil {
		return nil, nil, err
	}
	proxy, err := Start(sources, filepath.Join(cacheDir, "goproxy"))
	if err != nil {
		return nil, nil, errkind.Wrap(errkind.Infra, err)
	}
	env := gomod.BuildEnv(tool, proxy.URL, filepath.Join(cacheDir, "gomod"), filepath.Join(cacheDir, "gopath"), names)
	return env, func() { proxy.Close() }, nil
}
