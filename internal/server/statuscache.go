package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

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
//
// Readers of one plan's status share the work: a request that arrives
// while a read of that plan is under way waits for the next read, which
// starts after it arrived (so it never gets an answer older than itself)
// and serves every request that arrived in the meantime. Under many
// readers, each plan's state is read one time after another instead of
// once per request.
type statusCache struct {
	mu      sync.Mutex
	entries map[string]cachedStatus
	flights map[string]*planFlights
}

// planFlights are the read of one plan under way and the one queued
// after it.
type planFlights struct {
	running, next *flight
}

type flight struct {
	done chan struct{}
	body []byte
	err  error
}

// flightTimeout bounds one shared read of a plan's status.
const flightTimeout = time.Minute

// read answers a request for plan id's status with a read that starts
// after the request arrived, shared with the requests around it.
func (c *statusCache) read(ctx context.Context, id string, fn func(ctx context.Context) ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if c.flights == nil {
		c.flights = map[string]*planFlights{}
	}
	pf := c.flights[id]
	var f *flight
	switch {
	case pf == nil:
		f = &flight{done: make(chan struct{})}
		c.flights[id] = &planFlights{running: f}
		go c.run(id, f, fn)
	case pf.next == nil:
		f = &flight{done: make(chan struct{})}
		pf.next = f
	default:
		f = pf.next
	}
	c.mu.Unlock()
	select {
	case <-f.done:
		return f.body, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run runs flight f, then the one queued behind it, if any.
func (c *statusCache) run(id string, f *flight, fn func(ctx context.Context) ([]byte, error)) {
	for f != nil {
		func() {
			ctx, cancel := context.WithTimeout(context.Background(), flightTimeout)
			defer cancel()
			defer func() {
				if v := recover(); v != nil {
					f.body, f.err = nil, fmt.Errorf("reading the status of plan %s: panic: %v", id, v)
				}
			}()
			f.body, f.err = fn(ctx)
		}()
		close(f.done)
		c.mu.Lock()
		pf := c.flights[id]
		f, pf.running, pf.next = pf.next, pf.next, nil
		if f == nil {
			delete(c.flights, id)
		}
		c.mu.Unlock()
	}
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
	fmt.Fprintf(h, "%s\x00%d\x00%d\x00", logID, len(file), snap.gen)
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
