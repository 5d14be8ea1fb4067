package plan

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/cascade-dev/cascade/internal/verify"
)

// perfCacheVersion changes whenever the meaning of cached samples changes.
const perfCacheVersion = "perf-v1"

// perfKey is everything a repo's benchmark samples depend on: the trees
// measured (the frozen base, the head and every other change's head built
// with it), the command, the policy that decided how many runs to take,
// the toolchain, the machine and the cascade build. Samples are cached,
// not verdicts: the verdict is computed from them again each time.
type perfKey struct {
	Version    string
	Build      string
	Repo       string
	Base, Head string
	Set        []string
	Command    string
	Policy     PerfPolicy
	Timeout    time.Duration
	Go         string
	Host       string
	CPUs       int
	Env        []string
}

func (k perfKey) sum() string {
	k.Version = perfCacheVersion
	k.Build = verify.BuildRevision()
	k.CPUs = runtime.NumCPU()
	k.Host, _ = os.Hostname()
	data, _ := json.Marshal(k)
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

// cachedSample is one benchmark's values on both sides, as stored.
type cachedSample struct {
	Pkg, Name  string
	Base, Head []float64
}

type cachedSamples struct {
	Runs    int
	Samples []cachedSample
}

// perfCache stores benchmark samples by content key in cascade's result
// store (verify.Cache: each entry carries a MAC, so an edited one is
// discarded). A sample set is stored only when every run succeeded.
type perfCache struct{ store verify.Cache }

func newPerfCache(cacheDir string, off bool) perfCache {
	return perfCache{store: verify.OpenCache(cacheDir, "perf", off)}
}

func (c perfCache) get(key string) (*BenchSamples, bool) {
	var cs cachedSamples
	if !c.store.Get(key, &cs) || cs.Runs <= 0 {
		return nil, false
	}
	s := &BenchSamples{Base: map[BenchKey][]float64{}, Head: map[BenchKey][]float64{}, Runs: cs.Runs}
	for _, x := range cs.Samples {
		k := BenchKey{Pkg: x.Pkg, Name: x.Name}
		if len(x.Base) > 0 {
			s.Base[k] = x.Base
		}
		if len(x.Head) > 0 {
			s.Head[k] = x.Head
		}
	}
	return s, true
}

func (c perfCache) put(key string, s *BenchSamples) {
	if s == nil || s.Runs == 0 {
		return
	}
	keys := map[BenchKey]bool{}
	for k := range s.Base {
		keys[k] = true
	}
	for k := range s.Head {
		keys[k] = true
	}
	cs := cachedSamples{Runs: s.Runs}
	for k := range keys {
		cs.Samples = append(cs.Samples, cachedSample{Pkg: k.Pkg, Name: k.Name, Base: s.Base[k], Head: s.Head[k]})
	}
	slices.SortFunc(cs.Samples, func(a, b cachedSample) int {
		return strings.Compare(a.Pkg+"\x00"+a.Name, b.Pkg+"\x00"+b.Name)
	})
	c.store.Put(key, cs)
}

// goVersion is the version of the go command on PATH, which builds the
// benchmarks ("" when it cannot run: the benchmark runs will fail anyway).
func goVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}
