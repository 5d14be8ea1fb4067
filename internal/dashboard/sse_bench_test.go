package dashboard

import (
	"bufio"
	"context"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkSSEFanout: 100 clients watch one release over real HTTP
// connections; each iteration publishes one update and waits until all
// of them have read it. Metrics: the time from Publish until the last
// client has the update (p50, p99, max over the iterations), and the
// heap in use before and after the run (after a GC), to show it flat:
// heap-growth is the difference less the benchmark's own slice of
// latencies.
//
//	go test -run '^$' -bench SSEFanout -benchtime 20000x ./internal/dashboard
func BenchmarkSSEFanout(b *testing.B) {
	const clients = 100
	d, srv := newTestDashboard(b, Config{Heartbeat: time.Hour})
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients + 1}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	topic := ReleaseTopic("bench")
	got := make(chan time.Duration, clients)
	ended := make(chan struct{}, clients) // a client's stream ended
	for range clients {
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events?topic="+topic, nil)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			defer func() { ended <- struct{}{} }()
			defer resp.Body.Close()
			r := bufio.NewReader(resp.Body)
			for {
				line, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if rest, ok := strings.CutPrefix(line, "data: "); ok {
					ns, err := strconv.ParseInt(strings.TrimSpace(rest), 10, 64)
					if err != nil {
						continue
					}
					got <- time.Duration(time.Now().UnixNano() - ns)
				}
			}
		}()
	}
	waitClients(d.Broker(), topic, clients)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	goroutines := runtime.NumGoroutine()

	var all []time.Duration // per update: until the last client had it
	b.ResetTimer()
	for b.Loop() {
		d.Broker().Publish(topic, Event{Name: "update", Data: strconv.FormatInt(time.Now().UnixNano(), 10)})
		var last time.Duration
		for range clients {
			select {
			case d := <-got:
				last = max(last, d)
			case <-ended:
				b.Fatal("a client's stream ended while the benchmark ran")
			}
		}
		all = append(all, last)
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := d.Broker().Clients(topic); n != clients {
		b.Fatalf("%d clients left of %d: the broker dropped some", n, clients)
	}
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-all-ms")
	b.ReportMetric(pct(0.99), "p99-all-ms")
	b.ReportMetric(float64(all[len(all)-1].Microseconds())/1000, "max-all-ms")
	b.ReportMetric(float64(before.HeapInuse)/1024, "heap-before-KiB")
	b.ReportMetric(float64(after.HeapInuse)/1024, "heap-after-KiB")
	// What the heap grew by, less the benchmark's own record of latencies.
	b.ReportMetric((float64(after.HeapInuse)-float64(before.HeapInuse)-float64(8*cap(all)))/1024, "heap-growth-KiB")
	b.ReportMetric(float64(runtime.NumGoroutine()-goroutines), "goroutines-grown")
}
