package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/cascade-dev/cascade/internal/ecosystem"
	"github.com/cascade-dev/cascade/internal/sandbox"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// cacheVersion changes whenever the meaning of a cached result changes;
// the key also holds the revision cascade was built from, so that a new
// build never trusts what an older one parsed.
const cacheVersion = "verify-v8"

// BuildRevision names this cascade build: its VCS revision when built from
// a clean tree, otherwise the digest of its executable. Cache keys hold it.
var BuildRevision = sync.OnceValue(func() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		rev, modified := "", ""
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
		if rev != "" && modified == "false" {
			return info.Main.Version + " " + rev
		}
	}
	// A build without a clean revision (a modified tree, -buildvcs=false,
	// a container build without .git) is told apart by its own bytes.
	exe, err := os.Executable()
	if err != nil {
		return "unknown"
	}
	f, err := os.Open(exe)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "unknown"
	}
	return "exe " + hex.EncodeToString(h.Sum(nil))[:32]
})

// resultCache stores runs by content key: a file per key under dir.
type resultCache struct {
	dir string
	// off ignores what is stored (--no-cache); results are still stored.
	off bool
}

func (c *resultCache) file(key string) string {
	return filepath.Join(c.dir, key[:2], key+".json")
}

func (c *resultCache) get(key string, v any) bool {
	if c.off || c.dir == "" {
		return false
	}
	data, err := os.ReadFile(c.file(key))
	return err == nil && json.Unmarshal(data, v) == nil
}

func (c *resultCache) put(key string, v any) {
	if c.dir == "" {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	f := c.file(key)
	if os.MkdirAll(filepath.Dir(f), 0o755) == nil {
		_ = workspace.WriteFile(f, data, 0o644) // a cache that cannot be written only costs time
	}
}

// cacheable reports whether attempts may be stored: a timeout or an
// infrastructure failure says something about the machine, not the code.
func cacheable(runs []Run) bool {
	for _, r := range runs {
		if r.Infra != "" || r.TimedOut {
			return false
		}
	}
	return len(runs) > 0
}

// runKey is everything a build-and-test run's outcome depends on.
type runKey struct {
	Version string
	Kind    string // "baseline", "candidate" or "imports"
	// Repo and Commit are the downstream tree built: its commit, or the
	// digest of a local directory.
	Repo, Commit string
	Units        []ecosystem.Unit
	Config       ecosystem.Config
	// Toolchains are the versions of the tools of the units' ecosystems.
	Toolchains map[string]string
	// Upstreams are what was put in place: module, commit (or directory
	// digest) and the version it was served under.
	Upstreams []string
	// Proxy is the digest of every workspace repo's tags: what each
	// version a go.mod pins resolves to.
	Proxy string
	// Env is the part of cascade's environment commands see (PATH, TZ,
	// LANG, LC_ALL): a test's outcome may depend on it.
	Env     []string
	Timeout time.Duration
	Retries int
	// Baseline is the key of the baseline a candidate is compared with.
	Baseline string
}

func (k runKey) sum() string {
	k.Version = cacheVersion + " " + BuildRevision()
	k.Env = sandbox.PassedEnv()
	data, _ := json.Marshal(k)
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
