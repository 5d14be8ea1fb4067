package verify

import (
	"crypto/hmac"
	"crypto/rand"
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
	"github.com/cascade-dev/cascade/internal/errkind"
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

// resultCache stores runs by content key: a file per key under dir, each
// with a MAC of its key and content under a secret of this installation,
// so that an entry written or edited by anyone else (a sandboxed test
// that reached the cache, another user) is discarded, never trusted.
type resultCache struct {
	dir string
	// off ignores what is stored (--no-cache); results are still stored.
	off bool
	// key is the MAC key (loadMACKey); without one nothing is read or stored.
	key []byte
}

// cacheEntry is a stored result and its MAC.
type cacheEntry struct {
	MAC  string          `json:"mac"`
	Data json.RawMessage `json:"data"`
}

func (c *resultCache) file(key string) string {
	return filepath.Join(c.dir, key[:2], key+".json")
}

// mac binds a result to its key: an entry copied to another key fails too.
func (c *resultCache) mac(key string, data []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(cacheVersion + "\x00" + key + "\x00"))
	m.Write(data)
	return m.Sum(nil)
}

func (c *resultCache) get(key string, v any) bool {
	if c.off || c.dir == "" || len(c.key) == 0 {
		return false
	}
	data, err := os.ReadFile(c.file(key))
	if err != nil {
		return false
	}
	var e cacheEntry
	var sum []byte
	if err = json.Unmarshal(data, &e); err == nil {
		sum, err = hex.DecodeString(e.MAC)
	}
	if err != nil || len(e.Data) == 0 || !hmac.Equal(sum, c.mac(key, e.Data)) {
		_ = os.Remove(c.file(key))
		return false
	}
	return json.Unmarshal(e.Data, v) == nil
}

func (c *resultCache) put(key string, v any) {
	if c.dir == "" || len(c.key) == 0 {
		return
	}
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	entry, err := json.Marshal(cacheEntry{MAC: hex.EncodeToString(c.mac(key, data)), Data: data})
	if err != nil {
		return
	}
	f := c.file(key)
	if os.MkdirAll(filepath.Dir(f), 0o700) == nil {
		_ = workspace.WriteFile(f, entry, 0o600) // a cache that cannot be written only costs time
	}
}

// loadMACKey reads the installation's secret for cached results from file,
// making it (32 random bytes, mode 0600, in a 0700 directory) the first
// time. A key file others may read or write is refused: its results could
// be forged.
func loadMACKey(file string) ([]byte, error) {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, errkind.Wrap(errkind.Infra, err)
	}
	for range 2 {
		f, err := os.Open(file)
		if err == nil {
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return nil, errkind.Wrap(errkind.Infra, err)
			}
			if fi.Mode().Perm()&0o077 != 0 || !fi.Mode().IsRegular() {
				return nil, errkind.New(errkind.Infra, "%s may be read or written by others (mode %v); remove it and cascade makes a new one", file, fi.Mode())
			}
			key, err := io.ReadAll(io.LimitReader(f, 1024))
			if err != nil || len(key) < 32 {
				return nil, errkind.New(errkind.Infra, "%s is not a key cascade made; remove it and cascade makes a new one", file)
			}
			return key, nil
		}
		if !os.IsNotExist(err) {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		// Written whole under a temporary name, then linked in place: a
		// run that starts at the same time reads all of it or makes its own.
		tmp, err := os.CreateTemp(filepath.Dir(file), ".key-*")
		if err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		_, err = tmp.Write(key)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Link(tmp.Name(), file)
		}
		os.Remove(tmp.Name())
		if os.IsExist(err) {
			continue // another run made it first: read that one
		}
		if err != nil {
			return nil, errkind.Wrap(errkind.Infra, err)
		}
		return key, nil
	}
	return nil, errkind.New(errkind.Infra, "cannot read or make %s", file)
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

// Cache is cascade's content-keyed result store for other measurements
// (the performance gate's samples): entries under cacheDir/name, each with
// a MAC under the installation's secret, like verify's own results.
type Cache struct{ c *resultCache }

// OpenCache opens the store cacheDir/name; off ignores what is stored
// (--no-cache) but still stores. Without a usable secret nothing is read
// or stored (a cache only saves time).
func OpenCache(cacheDir, name string, off bool) Cache {
	if cacheDir == "" {
		return Cache{c: &resultCache{}}
	}
	key, err := loadMACKey(filepath.Join(cacheDir, "secret", "results.key"))
	if err != nil {
		key = nil
	}
	return Cache{c: &resultCache{dir: filepath.Join(cacheDir, name), off: off, key: key}}
}

// Get reads the entry stored under key (a hex digest) into v.
func (c Cache) Get(key string, v any) bool { return c.c.get(key, v) }

// Put stores v under key.
func (c Cache) Put(key string, v any) { c.c.put(key, v) }
