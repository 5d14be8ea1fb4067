package dashboard

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// stubSource is an empty Source: the broker's tests read no data.
type stubSource struct{ Source }

func newTestDashboard(t testing.TB, cfg Config) (*Dashboard, *httptest.Server) {
	t.Helper()
	if cfg.Source == nil {
		cfg.Source = stubSource{}
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	t.Cleanup(func() {
		d.Broker().Close()
		srv.Close()
	})
	return d, srv
}

// stream opens an event stream and returns its lines.
func stream(t testing.TB, ctx context.Context, srv *httptest.Server, topic string) (<-chan string, *http.Response) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events?topic="+topic, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 256)
	go func() {
		defer close(lines)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return lines, resp
}

// next returns the next line with prefix, failing when the stream ends.
func next(t *testing.T, lines <-chan string, prefix string) string {
	t.Helper()
	for l := range lines {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	t.Fatalf("the stream ended before a line starting %q", prefix)
	return ""
}

// waitClients waits until topic has n clients (the test's -timeout
// bounds it).
func waitClients(b *Broker, topic string, n int) {
	for b.Clients(topic) != n {
		time.Sleep(time.Millisecond)
	}
}

func TestEventsReachEveryClient(t *testing.T) {
	d, srv := newTestDashboard(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var clients []<-chan string
	for range 3 {
		lines, resp := stream(t, ctx, srv, "release:sync-docs")
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("Content-Type = %q", ct)
		}
		clients = append(clients, lines)
	}
	other, _ := stream(t, ctx, srv, "release:other")
	waitClients(d.Broker(), "release:sync-docs", 3)
	waitClients(d.Broker(), "release:other", 1)
	d.Broker().Publish("release:sync-docs", Event{Name: "update", Data: "step 3\nsucceeded"})
	d.Broker().Publish("release:other", Event{Data: "only other"})
	for i, lines := range clients {
		if got := next(t, lines, "event:"); got != "event: update" {
			t.Errorf("client %d: %q, want the event's name", i, got)
		}
		if got := next(t, lines, "data:"); got != "data: step 3" {
			t.Errorf("client %d: %q", i, got)
		}
		if got := next(t, lines, "data:"); got != "data: succeeded" {
			t.Errorf("client %d: second data line %q", i, got)
		}
	}
	if got := next(t, other, "data:"); got != "data: only other" {
		t.Errorf("the other topic's client got %q", got)
	}
}

func TestSlowClientIsDroppedWithoutBlockingOthers(t *testing.T) {
	b := NewBroker(2)
	slow := b.subscribe("run:1")
	fast := b.subscribe("run:1")
	got := 0
	for i := range 5 {
		b.Publish("run:1", Event{Data: "e"})
		select {
		case <-fast.ch:
			got++
		default:
			t.Fatalf("event %d did not reach the fast client", i)
		}
	}
	select {
	case <-slow.dropped:
	default:
		t.Fatal("a client 5 events behind with a buffer of 2 is still subscribed")
	}
	if n := b.Clients("run:1"); n != 1 {
		t.Errorf("%d clients left, want only the fast one", n)
	}
	if got != 5 {
		t.Errorf("fast client got %d events, want 5", got)
	}
}

func TestDroppedStreamEnds(t *testing.T) {
	d, srv := newTestDashboard(t, Config{Broker: NewBroker(1)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, _ := stream(t, ctx, srv, "run:7")
	waitClients(d.Broker(), "run:7", 1)
	// Nobody reads the stream's lines while the broker floods it: the
	// server's writes block, its buffer of one fills and it is dropped.
	for d.Broker().Clients("run:7") > 0 {
		d.Broker().Publish("run:7", Event{Data: strings.Repeat("x", 1000)})
	}
	for range lines {
	}
}

func TestDisconnectRemovesClient(t *testing.T) {
	d, srv := newTestDashboard(t, Config{})
	ctx, cancel := context.WithCancel(context.Background())
	lines, _ := stream(t, ctx, srv, "run:42")
	waitClients(d.Broker(), "run:42", 1)
	cancel()
	for range lines {
	}
	waitClients(d.Broker(), "run:42", 0)
}

func TestHeartbeat(t *testing.T) {
	_, srv := newTestDashboard(t, Config{Heartbeat: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	lines, _ := stream(t, ctx, srv, "release:x")
	next(t, lines, ": heartbeat")
}

func TestBadTopic(t *testing.T) {
	_, srv := newTestDashboard(t, Config{})
	for _, topic := range []string{"", "release:", "plan:x", "release:../x", "release:a%0Ab", "run:" + strings.Repeat("a", 200)} {
		resp, err := srv.Client().Get(srv.URL + "/events?topic=" + topic)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("topic %q: status %d, want 400", topic, resp.StatusCode)
		}
	}
}

func TestCloseEndsStreams(t *testing.T) {
	d, srv := newTestDashboard(t, Config{})
	lines, _ := stream(t, context.Background(), srv, "run:9")
	waitClients(d.Broker(), "run:9", 1)
	d.Broker().Close()
	for range lines {
	}
}

// TestStreamsAreBounded: past the broker's maximum of clients a stream is
// refused with 503 (and counted free again when one ends).
func TestStreamsAreBounded(t *testing.T) {
	d, srv := newTestDashboard(t, Config{})
	d.Broker().max = 2
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream(t, ctx, srv, "run:1")
	stream(t, ctx, srv, "run:2")
	waitClients(d.Broker(), "run:1", 1)
	waitClients(d.Broker(), "run:2", 1)
	resp, err := srv.Client().Get(srv.URL + "/events?topic=run:3")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("third stream: status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if d.Broker().Clients("run:3") != 0 {
		t.Error("the refused stream was counted")
	}
	d.Broker().Close()
	// After Close every stream ended: the count is free again.
	d.Broker().mu.Lock()
	n := d.Broker().clients
	d.Broker().mu.Unlock()
	if n != 0 {
		t.Errorf("%d clients counted after Close, want 0", n)
	}
}

// TestStreamEndsWithItsLogin: under RequireLogin a stream whose login
// is gone (a session revoked or expired) ends at its next heartbeat.
func TestStreamEndsWithItsLogin(t *testing.T) {
	var mu sync.Mutex
	who := "alice"
	person := func(*http.Request) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		return who, nil
	}
	d, srv := newTestDashboard(t, Config{RequireLogin: true, Person: person, Heartbeat: 5 * time.Millisecond})
	lines, _ := stream(t, context.Background(), srv, "release:p")
	next(t, lines, ": heartbeat")
	mu.Lock()
	who = ""
	mu.Unlock()
	ended := make(chan struct{})
	go func() {
		for range lines {
		}
		close(ended)
	}()
	select {
	case <-ended:
	case <-time.After(time.Minute): // a guard against a hang, not a measurement
		t.Fatal("the stream outlived its login")
	}
	waitClients(d.Broker(), "release:p", 0)
}
