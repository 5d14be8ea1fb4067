package gomod

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/cascade-dev/cascade/internal/errkind"
)

// Toolchain is what cascade knows of the local go command.
type Toolchain struct {
	Version  string `json:"GOVERSION"`
	GoCache  string `json:"GOCACHE"`
	GoProxy  string `json:"GOPROXY"`
	NoSumDB  string `json:"GONOSUMDB"`
	Private  string `json:"GOPRIVATE"`
	SumDB    string `json:"GOSUMDB"`
	Insecure string `json:"GOINSECURE"`
}

// LookupToolchain asks the local go command for its version and settings.
func LookupToolchain(ctx context.Context) (Toolchain, error) {
	var t Toolchain
	cmd := exec.CommandContext(ctx, "go", "env", "-json", "GOVERSION", "GOCACHE", "GOPROXY", "GONOSUMDB", "GOPRIVATE", "GOSUMDB", "GOINSECURE")
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
	dec := json.NewDecoder(bytes.NewReader(listJSON))
	hit := map[string]bool{}
	all := map[string]bool{}
	hasCode := map[string]bool{}
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			return nil, nil, fmt.Errorf("reading go list output: %w", err)
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
			if changed[stripVariant(d)] {
				hit[base] = true
				break
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
	return test, build, nil
}

// stripVariant turns "example.com/p [example.com/p.test]" into "example.com/p".
func stripVariant(p string) string {
	if i := strings.Index(p, " ["); i >= 0 {
		return p[:i]
	}
	return p
}

// ChangedPackages maps files changed in a repo to the import paths of the
// packages they belong to, for the module modPath in modDir (slash path,
// "." for the root). nested lists the directories of other modules in the
// repo, whose files belong to them. requirements is true when the module's
// go.mod or go.sum changed: every importer is then affected.
func ChangedPackages(files []string, modPath, modDir string, nested []string) (pkgs map[string]bool, requirements bool) {
	pkgs = map[string]bool{}
	prefix := ""
	if modDir != "." && modDir != "" {
		prefix = modDir + "/"
	}
	// Deeper modules own the files under them.
	var deeper []string
	for _, n := range nested {
		if n != modDir && n != "." && strings.HasPrefix(n+"/", prefix) {
			deeper = append(deeper, n+"/")
		}
	}
outer:
	for _, f := range files {
		rel, ok := strings.CutPrefix(f, prefix)
		if !ok {
			continue
		}
		for _, d := range deeper {
			if strings.HasPrefix(f, d) {
				continue outer
			}
		}
		if rel == "go.mod" || rel == "go.sum" {
			requirements = true
			continue
		}
		// A file under testdata belongs to the package above it.
		parts := strings.Split(path.Dir(rel), "/")
		for i, p := range parts {
			if p == "testdata" {
				parts = parts[:i]
				break
			}
		}
		if dir := strings.Join(parts, "/"); dir == "." || dir == "" {
			pkgs[modPath] = true
		} else {
			pkgs[modPath+"/"+dir] = true
		}
	}
	return pkgs, requirements
}

// testEvent is one line of `go test -json`.
type testEvent struct {
	Action      string
	Package     string
	ImportPath  string
	Test        string
	Output      string
	FailedBuild string
}

// TestReport reads `go test -json` output: the failing tests ("pkg.Test"),
// the packages that failed without a failing test (a build error, a panic
// in TestMain), and the output as plain text, compiler errors included
// under a "# package" line as go build prints them.
func TestReport(out string) (failed []string, text string) {
	failed, text, _ = TestReportBuild(out)
	return failed, text
}

// TestReportBuild is TestReport that also says whether a package (or its
// tests) did not compile.
func TestReportBuild(out string) (failed []string, text string, buildFailed bool) {
	lastBuild := ""
	var b strings.Builder
	seen := map[string]bool{}
	pkgFailed := map[string]bool{}
	pkgHasTestFail := map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e testEvent
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			b.Write(line)
			b.WriteByte('\n')
			continue
		}
		if e.Action == "build-output" {
			if e.ImportPath != lastBuild {
				lastBuild = e.ImportPath
				if !strings.HasPrefix(e.Output, "# ") {
					b.WriteString("# " + stripVariant(e.ImportPath) + "\n")
				}
			}
			b.WriteString(e.Output)
			continue
		}
		if e.Action == "output" {
			b.WriteString(e.Output)
		}
		if e.Action != "fail" {
			continue
		}
		if e.FailedBuild != "" {
			buildFailed = true
		}
		if e.Test != "" {
			name := e.Package + "." + e.Test
			// A failing subtest fails its parent too: keep the leaves.
			if !seen[name] {
				seen[name] = true
				failed = append(failed, name)
			}
			pkgHasTestFail[e.Package] = true
		} else if e.Package != "" {
			pkgFailed[e.Package] = true
		}
	}
	for p := range pkgFailed {
		if !pkgHasTestFail[p] {
			failed = append(failed, p)
		}
	}
	// Drop parents whose subtests are listed.
	var leaves []string
	for _, f := range failed {
		parent := false
		for _, g := range failed {
			if strings.HasPrefix(g, f+"/") {
				parent = true
				break
			}
		}
		if !parent {
			leaves = append(leaves, f)
		}
	}
	sort.Strings(leaves)
	return leaves, b.String(), buildFailed
}
