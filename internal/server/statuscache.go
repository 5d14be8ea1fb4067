package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/cascade-dev/cascade/internal/errkind"
	"github.com/cascade-dev/cascade/internal/plan"
	"github.com/cascade-dev/cascade/internal/release"
	"github.com/cascade-dev/cascade/internal/report"
)

// statusCache keeps the last checked release status of each plan.
// Checking a status verifies every signature of the plan's log (an
// ssh-keygen run each), which is far too slow to do for every read; but
// its result depends only on what it reads: the release's rows, the
// plan's log entries, the plan file, the database's log id and the
// workspace's people. Those are read for every request (two queries and
// a small file) and hashed; while the hash is the same, so is the
// answer.
type statusCache struct {
	mu      sync.Mutex
	entries map[string]cachedStatus
	// checking serialises the checks of one plan, so that a burst of
	// readers runs one check, not one each.
	checking sync.Map // plan id -> *sync.Mutex
}

type cachedStatus struct {
	key  [32]byte
	body []byte
}

// statusKey hashes everything Checked reads for plan id.
func (s *Server) statusKey(ctx context.Context, e *release.Engine, snap *snapshot, id string) ([32]byte, error) {
	h := sha256.New()
	st, err := e.Status(ctx, id)
	if err != nil {
		return [32]byte{}, err
	}
	entries, err := e.Store.Entries(ctx, id)
	if err != nil {
		return [32]byte{}, errkind.Wrap(errkind.Infra, err)
	}
	logID, err := e.Store.LogID(ctx)
	if err != nil {
		return [32]byte{}, errkind.Wrap(errkind.Infra, err)
	}
	file, err := os.ReadFile(plan.File(snap.ws, id))
	if err != nil && !os.IsNotExist(err) {
		return [32]byte{}, errkind.Wrap(errkind.Infra, err)
	}
	enc := json.NewEncoder(h)
	if err := enc.Encode(st); err != nil {
		return [32]byte{}, err
	}
	if err := enc.Encode(entries); err != nil {
		return [32]byte{}, err
	}
	// The snapshot stands for the workspace's people: a new scan (a
	// changed cascade.yaml) is a new snapshot.
	fmt.Fprintf(h, "%s\x00%d\x00%p\x00", logID, len(file), snap)
	h.Write(file)
	var key [32]byte
	copy(key[:], h.Sum(nil))
	return key, nil
}

// checkedStatus is the document of `cascade release status ID --json`,
// from the cache when nothing it depends on changed.
func (s *Server) checkedStatus(ctx context.Context, id string) ([]byte, error) {
	snap := s.current()
	e := s.engineFor(snap)
	key, err := s.statusKey(ctx, e, snap, id)
	if err != nil {
		return nil, err
	}
	if body, ok := s.status.get(id, key); ok {
		return body, nil
	}
	mu, _ := s.status.checking.LoadOrStore(id, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	if body, ok := s.status.get(id, key); ok {
		return body, nil
	}
	st, err := e.Checked(ctx, id)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := report.JSON(&b, st); err != nil {
		return nil, err
	}
	// Cached only when nothing changed while it was checked: the answer
	// then belongs to the key.
	if after, err := s.statusKey(ctx, e, snap, id); err == nil && after == key {
		s.status.put(id, key, b.Bytes())
	}
	return b.Bytes(), nil
}

func (c *statusCache) get(id string, key [32]byte) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || e.key != key {
		return nil, false
	}
	return e.body, true
}

// maxCachedPlans bounds the cache: past it, the cache starts again.
const maxCachedPlans = 1024

func (c *statusCache) put(id string, key [32]byte, body []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedPlans {
		c.entries = map[string]cachedStatus{}
	}
	c.entries[id] = cachedStatus{key, body}
}
