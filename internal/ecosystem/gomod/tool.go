package gomod

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// Toolchain is what cascade knows of the local go command.
type Toolchain struct {
	Version  string `json:"GOVERSION"`
	GoCache  string `json:"GOCACHE"`
	GoRoot   string `json:"GOROOT"`
	GoProxy  string `json:"GOPROXY"`
	NoSumDB  string `json:"GONOSUMDB"`
	Private  string `json:"GOPRIVATE"`
	SumDB    string `json:"GOSUMDB"`
	Insecure string `json:"GOINSECURE"`
}

// LookupToolchain asks the local go command for its version and settings.
func LookupToolchain(ctx context.Context) (Toolchain, error) {
	var t Toolchain
	cmd := exec.CommandContext(ctx, "go", "env", "-json", "GOVERSION", "GOCACHE", "GOROOT", "GOPROXY", "GONOSUMDB", "GOPRIVATE", "GOSUMDB", "GOINSECURE")
	out, err := cmd.Output()
	if err != nil {
		return t, errkind.Wrap(errkind.Infra, fmt.Errorf("cannot run `go env`; is Go installed and on PATH? %w", err))
	}
	if err := json.Unmarshal(out, &t); err != nil {
		return t, errkind.Wrap(errkind.Infra, fmt.Errorf("go env: %w", err))
	}
	return t, nil
}

// BuildEnv is the environment of a sandboxed go command that resolves the
// workspace's modules from proxyURL (and anything else as the user's own
// go command would), with shared caches and no network lookups for
// workspace modules' checksums.
//
// The go command keeps its configuration (and telemetry) under
// goPath/config, with telemetry off, so that nothing it starts writes into
// a sandbox's temporary HOME after the command ends.
func BuildEnv(t Toolchain, proxyURL, modCache, goPath string, workspaceModules []string) []string {
	config := filepath.Join(goPath, "config")
	mode := filepath.Join(config, "go", "telemetry", "mode")
	if _, err := os.Stat(mode); err != nil {
		if os.MkdirAll(filepath.Dir(mode), 0o755) == nil {
			_ = os.WriteFile(mode, []byte("off"), 0o644)
		}
	}
	proxy := proxyURL
	if t.GoProxy != "" {
		proxy += "," + t.GoProxy
	} else {
		proxy += ",off"
	}
	nosum := append([]string(nil), workspaceModules...)
	for _, s := range []string{t.NoSumDB, t.Private} {
		if s != "" {
			nosum = append(nosum, s)
		}
	}
	env := []string{
		"GOPROXY=" + proxy,
		"GONOSUMDB=" + strings.Join(nosum, ","),
		"GOFLAGS=-mod=mod -buildvcs=false",
		"GOCACHE=" + t.GoCache,
		"GOMODCACHE=" + modCache,
		"GOPATH=" + goPath,
		"GOTOOLCHAIN=local",
		"GOWORK=off",
		"GOENV=off",
		"XDG_CONFIG_HOME=" + config,
	}
	if t.SumDB != "" {
		env = append(env, "GOSUMDB="+t.SumDB)
	}
	if t.Insecure != "" {
		env = append(env, "GOINSECURE="+t.Insecure)
	}
	return env
}

// listedPackage is what `go list -test -json` says of one package.
type listedPackage struct {
	ImportPath string
	ForTest    string
	Deps       []string
	GoFiles    []string
	CgoFiles   []string
}

// ListFields are the fields Affected reads: run
// `go list -e -test -json=`+ListFields+` ./...`.
const ListFields = "ImportPath,ForTest,Deps,GoFiles,CgoFiles"

// Affected reads the output of `go list -e -test -json=ListFields ./...`
// and returns the packages of module mod whose code or tests import,
// directly or not, one of changed, sorted; and, of those, the ones that
// have non-test code to build.
func Affected(listJSON []byte, mod string, changed map[string]bool) (test, build []string, err error) {
	test, build, _, err = affected(listJSON, mod, changed)
	return test, build, err
}

// affected is Affected that also returns every package any package of
// the module imports, directly or not.
func affected(listJSON []byte, mod string, changed map[string]bool) (test, build []string, deps map[string]bool, err error) {
	deps = map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(listJSON))
	hit := map[string]bool{}
	all := map[string]bool{}
	hasCode := map[string]bool{}
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			return nil, nil, nil, fmt.Errorf("reading go list output: %w", err)
		}
		base := p.ImportPath
		if p.ForTest != "" {
			base = p.ForTest
		}
		base = strings.TrimSuffix(stripVariant(base), ".test")
		if base != mod && !strings.HasPrefix(base, mod+"/") {
			continue
		}
		all[base] = true
		if p.ForTest == "" && !strings.HasSuffix(p.ImportPath, ".test") && len(p.GoFiles)+len(p.CgoFiles) > 0 {
			hasCode[base] = true
		}
		for _, d := range p.Deps {
			d = stripVariant(d)
			deps[d] = true
			if changed[d] {
				hit[base] = true
			}
		}
	}
	for p := range hit {
		if all[p] {
			test = append(test, p)
			if hasCode[p] {
				build = append(build, p)
			}
		}
	}
	sort.Strings(test)
	sort.Strings(build)
	return test, build, deps, nil
}
