package npm

import (
	"encoding/json"
	"path/filepath"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/cascade-dev/cascade/internal/sandbox"
)

// Env is the environment of a sandboxed npm command: a shared cache, no
// audit, fund or update notices, and cached packages preferred.
func Env(cache string) []string {
	return []string{
		"npm_config_cache=" + cache,
		"npm_config_update_notifier=false",
		"npm_config_fund=false",
		"npm_config_audit=false",
		"npm_config_prefer_offline=true",
		"npm_config_progress=false",
		"NO_COLOR=1",
	}
}

// InstallEnv is the environment of the install phase (`npm install
// --ignore-scripts`, with the network and the shared cache writable): Env,
// with every npm setting that names a program pinned (git, the shells,
// node-gyp, editor, browser, viewer). npm ranks the environment above the
// repo's own .npmrc, so a project .npmrc that names a script of the repo
// as npm's git (run for a git dependency) is overridden, and the phase
// runs none of the repo's code.
func InstallEnv(cache string) []string {
	return append(Env(cache),
		"npm_config_ignore_scripts=true",
		"npm_config_git=git",
		"npm_config_script_shell=/bin/sh",
		"npm_config_shell=/bin/sh",
		"npm_config_node_gyp=/bin/false",
		"npm_config_editor=/bin/false",
		"npm_config_browser=/bin/false",
		"npm_config_viewer=/bin/false",
	)
}

// BestVersion returns the highest of versions (tags such as "v1.2.0")
// that satisfies the range spec, or "" when spec is not a range or none
// satisfies it.
func BestVersion(spec string, versions []string) string {
	c, err := semver.NewConstraint(spec)
	if err != nil {
		return ""
	}
	var best *semver.Version
	bestTag := ""
	for _, tag := range versions {
		v, err := semver.NewVersion(strings.TrimPrefix(tag, "v"))
		if err != nil || !c.Check(v) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, bestTag = v, tag
		}
	}
	return bestTag
}

// HasScript reports whether the package.json at file defines script name.
func HasScript(file, name string) bool {
	data, err := sandbox.ReadTreeFile(filepath.Dir(file), filepath.Base(file), 0)
	if err != nil {
		return false
	}
	var m struct {
		Scripts map[string]string `json:"scripts"`
	}
	return json.Unmarshal(data, &m) == nil && strings.TrimSpace(m.Scripts[name]) != ""
}
