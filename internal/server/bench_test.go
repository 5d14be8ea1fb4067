package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cascade-dev/cascade/internal/server"
	"github.com/cascade-dev/cascade/internal/store/storetest"
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
				b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) { readConcurrently(b, e, clients) })
			}
		})
	}
}

// readConcurrently makes b.N reads from e's server with the given number
// of clients at once and reports their latencies.
func readConcurrently(b *testing.B, e *env, clients int) {
	transport := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	paths := []string{e.url + "/api/v1/releases/sync-docs", e.url + "/api/v1/graph"}
	fetch := func(url string) error {
		resp, err := client.Get(url)
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
