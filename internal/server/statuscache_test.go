package server_test

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"

	"github.com/cascade-dev/cascade/internal/store/storetest"
)

// TestStatusCacheSeesChanges: the release status is checked once and then
// served from the cache, but any change to what the check reads (a step's
// row edited behind cascade's back, an audit entry edited, a new action)
// is seen by the next read, on both backends.
func TestStatusCacheSeesChanges(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			e := newEnv(t, be, true, nil)
			status := func() map[string]any {
				t.Helper()
				r := get(t, e.url+"/api/v1/releases/sync-docs")
				if r.status != 200 {
					t.Fatalf("status = %d %s", r.status, r.body)
				}
				validate(t, "GET", "/api/v1/releases/sync-docs", r)
				var doc map[string]any
				json.Unmarshal(r.body, &doc)
				return doc
			}
			first := status()
			if first["tampered"] != nil {
				t.Fatalf("a fresh release reads as tampered: %v", first["tampered"])
			}
			if again := status(); again["tampered"] != nil {
				t.Fatalf("the cached status differs: %v", again["tampered"])
			}

			// A row edited in the database.
			if _, err := e.st.DB.Exec(`UPDATE steps SET state = 'succeeded' WHERE idx = 1`); err != nil {
				t.Fatal(err)
			}
			doc := status()
			if tm, _ := doc["tampered"].(string); !strings.HasPrefix(tm, "tampered:") {
				t.Errorf("after a step's row was edited, status says tampered=%v; want it to say so", doc["tampered"])
			}
			if _, err := e.st.DB.Exec(`UPDATE steps SET state = 'pending' WHERE idx = 1`); err != nil {
				t.Fatal(err)
			}
			if doc := status(); doc["tampered"] != nil {
				t.Errorf("the row restored, status still says %v", doc["tampered"])
			}

			// An audit entry's details edited (its hash column kept).
			if _, err := e.st.DB.Exec(`UPDATE audit SET details = '{"edited":true}' WHERE seq = (SELECT max(seq) FROM audit)`); err != nil {
				t.Fatal(err)
			}
			if doc := status(); doc["tampered"] == nil {
				t.Error("after an audit entry was edited, status does not say tampered")
			}
		})
	}
}

// TestStatusConcurrentReaders: many readers of one plan at once share
// reads and all get the same, whole document; an unknown plan is a 404
// for each of them.
func TestStatusConcurrentReaders(t *testing.T) {
	e := newEnv(t, sqliteBackend, true, nil)
	want := get(t, e.url+"/api/v1/releases/sync-docs")
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			path := "/api/v1/releases/sync-docs"
			if i%3 == 0 {
				path = "/api/v1/releases/no-such-plan"
			}
			r := get(t, e.url+path)
			switch {
			case i%3 == 0 && r.status != 404:
				t.Errorf("GET %s = %d; want 404", path, r.status)
			case i%3 != 0 && (r.status != 200 || string(r.body) != string(want.body)):
				t.Errorf("GET %s = %d, a different document:\n%s", path, r.status, r.body)
			}
		})
	}
	wg.Wait()
}
