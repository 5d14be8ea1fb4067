package gomod

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/goproxy"
)

// Start serves the workspace's Go modules (sources) through a module proxy
// on 127.0.0.1, drops from cascade's module cache (under cacheDir) every
// version of them whose tag has moved since it was cached, and returns the
// Go ecosystem whose commands build against that proxy, the user's own
// proxy settings behind it. Close stops the proxy.
func Start(ctx context.Context, sources []goproxy.Source, cacheDir string) (Go, error) {
	tool, err := LookupToolchain(ctx)
	if err != nil {
		return Go{}, err
	}
	proxy, err := goproxy.Start(sources, filepath.Join(cacheDir, "goproxy"))
	if err != nil {
		return Go{}, errkind.Wrap(errkind.Infra, fmt.Errorf("starting the workspace module proxy: %w", err))
	}
	modCache := filepath.Join(cacheDir, "gomod")
	if err := proxy.PurgeStale(modCache); err != nil {
		proxy.Close()
		return Go{}, errkind.Wrap(errkind.Infra, err)
	}
	var names []string
	for _, s := range sources {
		names = append(names, s.Module)
	}
	goPath := filepath.Join(cacheDir, "gopath")
	for _, d := range []string{modCache, goPath, tool.GoCache} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			proxy.Close()
			return Go{}, errkind.Wrap(errkind.Infra, err)
		}
	}
	return Go{Version: tool.Version, proxy: proxy, ModCache: modCache,
		ReadOnly: []string{tool.GoRoot, goPath}, GoCache: tool.GoCache,
		Env: BuildEnv(tool, proxy.URL, modCache, goPath, names)}, nil
}

// Close stops the module proxy Start started.
func (g Go) Close() error {
	if g.proxy == nil {
		return nil
	}
	return g.proxy.Close()
}
