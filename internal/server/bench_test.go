package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/auth"
	"github.com/cascade-dev/cascade/internal/jobs"
	"github.com/cascade-dev/cascade/internal/server"
	"github.com/cascade-dev/cascade/internal/store/storetest"
	"github.com/cascade-dev/cascade/internal/workspace"
)

// clientCounts are how many clients read at once in
// BenchmarkConcurrentReads: the 200, and one alone for the
// latency of a request without queueing.
var clientCounts = []int{200, 1}

// BenchmarkConcurrentReads: 200 clients at once, each on its own
// connection, read the release status of sync-docs and the graph (in
// turn) from a real server on 127.0.0.1, on SQLite and on PostgreSQL
// (and one client alone, for comparison). b.N is the number of requests
// in all; p50 and p99 are the latencies the clients saw, as custom
// metrics (p50-ms, p99-ms). The load generator is plain Go: net/http
// clients in goroutines, in the benchmark's process.
//
//	go test -run '^$' -bench ConcurrentReads -benchtime 20000x ./internal/server
func BenchmarkConcurrentReads(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			e := newEnv(b, be, true, func(c *server.Config) {
				// Every request is logged, to nowhere: the cost of the
				// log line stays in the figure.
				c.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
			})
			for _, clients := range clientCounts {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { readConcurrently(b, e, clients, "") })
			}
		})
	}
}

// readConcurrently makes b.N reads from e's server with the given number
// of clients at once and reports their latencies.
func readConcurrently(b *testing.B, e *env, clients int, token string) {
	transport := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	paths := []string{e.url + "/api/v1/releases/sync-docs", e.url + "/api/v1/graph"}
	fetch := func(url string) error {
		req, _ := http.NewRequest("GET", url, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err == nil && resp.StatusCode != 200 {
			b.Errorf("GET %s = %d", url, resp.StatusCode)
		}
		return err
	}
	// Open the clients' connections first.
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			if err := fetch(paths[1]); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	b.ResetTimer()
	for c := range clients {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				start := time.Now()
				if err := fetch(paths[i%2]); err != nil {
					b.Error(err)
					return
				}
				lat[c] = append(lat[c], time.Since(start))
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	at := func(q float64) float64 {
		return float64(all[min(len(all)-1, int(q*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(at(0.50), "p50-ms")
	b.ReportMetric(at(0.99), "p99-ms")
	b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkConcurrentReadsAuth is BenchmarkConcurrentReads on a server
// that needs a login, as cascade serve runs without --public-read: every
// request carries alice's API token, which the server looks up (by its
// hash, in the state database) each time.
//
//	go test -run '^$' -bench ConcurrentReadsAuth -benchtime 20000x ./internal/server
func BenchmarkConcurrentReadsAuth(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			var svc *auth.Service
			e := newEnv(b, be, true, func(c *server.Config) {
				wholeServer(b)(c)
				svc = c.Authenticator.(*auth.Service)
				c.PublicRead = false
				c.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
			})
			token := loginToken(b, svc, filepath.Join(e.dir, "keys", "alice"), "alice")
			for _, clients := range clientCounts {
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { readConcurrently(b, e, clients, token) })
			}
		})
	}
}

// loginToken logs person in to svc with key, as cascade login does, and
// returns the API token.
func loginToken(b testing.TB, svc *auth.Service, key, person string) string {
	ctx := context.Background()
	ch, err := svc.NewChallenge(ctx, person, "token")
	if err != nil {
		b.Fatal(err)
	}
	sig, err := auth.Sign(ctx, key, false, ch.Statement)
	if err != nil {
		b.Fatal(err)
	}
	_, secret, err := svc.Login(ctx, person, ch.Nonce, sig, "benchmark")
	if err != nil {
		b.Fatal(err)
	}
	return secret
}

// BenchmarkVerificationStart is the time from POST /api/v1/verifications
// (alice's token, a run of clever-db@strict-where) to its job's start in
// the server's worker (jobs.Hooks.Started; the run then fails at once,
// so that only the queue is measured), on SQLite and PostgreSQL, with
// p50 and p99 as custom metrics.
//
//	go test -run '^$' -bench VerificationStart -benchtime 50x ./internal/server
func BenchmarkVerificationStart(b *testing.B) {
	for _, be := range storetest.Backends() {
		b.Run(be.Name, func(b *testing.B) {
			started := make(chan time.Time, 1)
			var svc *auth.Service
			e := newEnv(b, be, false, func(c *server.Config) {
				c.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
				js, err := jobs.Open(context.Background(), c.Store, jobs.Config{Workspace: c.WorkspaceFile, CacheDir: c.CacheDir,
					Workers: 1, MaxAttempts: 1, Hooks: jobs.Hooks{Started: func(ctx context.Context, id int64) error {
						started <- time.Now()
						return errors.New("benchmark: the queue only")
					}}})
				if err != nil {
					b.Fatal(err)
				}
				if err := js.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { js.Stop(context.Background()) })
				svc = &auth.Service{Store: c.Store, Origin: "http://127.0.0.1", People: func() []workspace.Person {
					ws, _ := workspace.Load(c.WorkspaceFile)
					if ws == nil {
						return nil
					}
					return ws.People
				}}
				c.Authenticator, c.Jobs = svc, &server.Verifications{System: js}
			})
			token := loginToken(b, svc, filepath.Join(e.dir, "keys", "alice"), "alice")
			var lat []time.Duration
			b.ResetTimer()
			for range b.N {
				req, _ := http.NewRequest("POST", e.url+"/api/v1/verifications", strings.NewReader(`{"upstream": "clever-db@strict-where"}`))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 202 {
					b.Fatalf("POST = %d", resp.StatusCode)
				}
				lat = append(lat, (<-started).Sub(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			at := func(q float64) float64 {
				return float64(lat[min(len(lat)-1, int(q*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(at(0.50), "p50-ms")
			b.ReportMetric(at(0.99), "p99-ms")
		})
	}
}
