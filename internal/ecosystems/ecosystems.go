// Package ecosystems starts the language ecosystems cascade verifies (Go
// modules, npm packages) for a workspace: the one place that knows them
// all, so that verification, plans and semver reach them through the
// ecosystem interface and a new ecosystem is added here, not there.
package ecosystems

import (
	"context"
	"os"
	"path"
	"path/filepath"

	"github.com/cascade-dev/cascade/internal/ecosystem"
	"github.com/cascade-dev/cascade/internal/ecosystem/gomod"
	"github.com/cascade-dev/cascade/internal/ecosystem/npm"
	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/gitrepo"
	"github.com/cascade-dev/cascade/internal/goproxy"
	"github.com/cascade-dev/cascade/internal/graph"
	"github.com/cascade-dev/cascade/internal/scan"
)

// Set is the started ecosystems of one run, by name ("go", "npm").
type Set struct {
	ByName map[string]ecosystem.Ecosystem
}

// Start starts every ecosystem the workspace has modules of. cacheDir is
// cascade's cache (module and package caches live under it); work is the
// run's own directory (npm packs). Close stops them.
func Start(ctx context.Context, g *graph.Workspace, cacheDir, work string) (*Set, error) {
	s := &Set{ByName: map[string]ecosystem.Ecosystem{}}
	packs := filepath.Join(work, "packs")
	if err := os.MkdirAll(packs, 0o755); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	npmCache := filepath.Join(cacheDir, "npm")
	if err := os.MkdirAll(npmCache, 0o755); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	s.ByName[scan.NPM] = &npm.NPM{Cache: npmCache, Work: packs}
	if sources := goSources(g); len(sources) > 0 {
		goEco, err := gomod.Start(ctx, sources, cacheDir)
		if err != nil {
			return nil, err
		}
		s.ByName[scan.Go] = goEco
	}
	return s, nil
}

// Close stops what Start started.
func (s *Set) Close() {
	for _, x := range s.ByName {
		_ = x.Close()
	}
}

// StartGo serves the workspace's Go modules and returns the Go ecosystem
// whose commands build against them (Close stops it).
func StartGo(ctx context.Context, g *graph.Workspace, cacheDir string) (gomod.Go, error) {
	return gomod.Start(ctx, goSources(g), cacheDir)
}

// GoEnv serves the workspace's Go modules and returns the environment of
// go commands that build against them, and a function that stops the
// server.
func GoEnv(ctx context.Context, g *graph.Workspace, cacheDir string) ([]string, func(), error) {
	goEco, err := gomod.Start(ctx, goSources(g), cacheDir)
	if err != nil {
		return nil, nil, err
	}
	return goEco.Env, func() { goEco.Close() }, nil
}

// goSources lists the Go modules of the workspace, for its module proxy.
func goSources(g *graph.Workspace) []goproxy.Source {
	var out []goproxy.Source
	for _, r := range g.Repos {
		if r.Git == nil {
			continue
		}
		for _, m := range r.Modules {
			if m.Ecosystem == scan.Go {
				out = append(out, goproxy.Source{Module: m.Name, Repo: r.Git, Dir: m.Dir})
			}
		}
	}
	return out
}

// Holds reports whether dir (a user's checkout) holds module m where its
// repo has it: the manifest at m's directory names m.
func Holds(dir string, m scan.Module) bool {
	switch m.Ecosystem {
	case scan.Go:
		data, err := gitrepo.ReadTreeFile(dir, path.Join(m.Dir, gomod.FileName), gitrepo.MaxManifest)
		if err != nil {
			return false
		}
		gm, err := gomod.Parse(gomod.FileName, data)
		return err == nil && gm.Path == m.Name
	case scan.NPM:
		data, err := gitrepo.ReadTreeFile(dir, path.Join(m.Dir, npm.FileName), gitrepo.MaxManifest)
		if err != nil {
			return false
		}
		p, err := npm.Parse(npm.FileName, data)
		return err == nil && (p.Name == m.Name || p.Name == "" && m.Name == scan.UnnamedPackage(m.Dir))
	}
	return false
}
