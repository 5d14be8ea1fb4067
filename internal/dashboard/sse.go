package dashboard

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Event is one message to the dashboard's live pages.
type Event struct {
	// Name is the SSE event name ("" for the default "message").
	Name string
	// Data is the payload, one line of text (newlines are sent as
	// separate data lines).
	Data string
}

// DefaultBuffer is how many events a client may fall behind before the
// broker drops it.
const DefaultBuffer = 64

// MaxClients is how many event streams a broker serves at once: one past
// it is refused (503), so that streams cannot take the server's memory.
const MaxClients = 2000

// Broker fans events out to the clients watching a topic. Publish never
// blocks on a client: one that falls more than its buffer behind is
// dropped (its stream ends; the browser reconnects and reloads the
// fragment).
type Broker struct {
	mu      sync.Mutex
	topics  map[string]map[*client]struct{}
	buffer  int
	clients int
	max     int
	closed  bool
}

type client struct {
	ch      chan Event
	dropped chan struct{}
	once    sync.Once
}

func (c *client) drop() { c.once.Do(func() { close(c.dropped) }) }

// NewBroker returns a broker whose clients each buffer buffer events
// (DefaultBuffer when buffer <= 0).
func NewBroker(buffer int) *Broker {
	if buffer <= 0 {
		buffer = DefaultBuffer
	}
	return &Broker{topics: map[string]map[*client]struct{}{}, buffer: buffer, max: MaxClients}
}

// Publish sends ev to every client watching topic. Clients whose buffer
// is full are dropped.
func (b *Broker) Publish(topic string, ev Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for c := range b.topics[topic] {
		select {
		case c.ch <- ev:
		default:
			b.remove(topic, c)
			c.drop()
		}
	}
}

// Clients is how many clients watch topic.
func (b *Broker) Clients(topic string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.topics[topic])
}

// Close drops every client; later subscriptions end at once.
func (b *Broker) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	for topic, cs := range b.topics {
		for c := range cs {
			c.drop()
		}
		b.clients -= len(cs)
		delete(b.topics, topic)
	}
}

// subscribe adds a client to topic; nil when the broker serves its
// maximum of clients already.
func (b *Broker) subscribe(topic string) *client {
	c := &client{ch: make(chan Event, b.buffer), dropped: make(chan struct{})}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		c.drop()
		return c
	}
	if b.clients >= b.max {
		return nil
	}
	if b.topics[topic] == nil {
		b.topics[topic] = map[*client]struct{}{}
	}
	b.topics[topic][c] = struct{}{}
	b.clients++
	return c
}

func (b *Broker) unsubscribe(topic string, c *client) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.remove(topic, c)
}

// remove forgets c; b.mu is held.
func (b *Broker) remove(topic string, c *client) {
	cs := b.topics[topic]
	if _, ok := cs[c]; ok {
		b.clients--
	}
	delete(cs, c)
	if len(cs) == 0 {
		delete(b.topics, topic)
	}
}

// Topics of the dashboard's live pages.
func ReleaseTopic(plan string) string { return "release:" + plan }

// RunTopic is the topic of a verification run's page.
func RunTopic(id string) string { return "run:" + id }

// streamWriteTimeout bounds each write to an event stream.
const streamWriteTimeout = 30 * time.Second

var validTopic = regexp.MustCompile(`^(release|run):[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// serveEvents streams a topic's events as Server-Sent Events until the
// client goes away, the broker drops it or the broker closes.
func (d *Dashboard) serveEvents(w http.ResponseWriter, r *http.Request) {
	topic := r.URL.Query().Get("topic")
	if !validTopic.MatchString(topic) {
		http.Error(w, "bad topic: use ?topic=release:PLAN or ?topic=run:ID", http.StatusBadRequest)
		return
	}
	c := d.broker.subscribe(topic)
	if c == nil {
		w.Header().Set("Retry-After", "30")
		http.Error(w, "too many live pages are open on this server: try again later", http.StatusServiceUnavailable)
		return
	}
	defer d.broker.unsubscribe(topic, c)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	w.WriteHeader(http.StatusOK)
	// Tell the browser how long to wait before reconnecting, and open the
	// stream so that the client sees its headers at once.
	fmt.Fprintf(w, "retry: 2000\n: watching %s\n\n", topic)
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(d.heartbeat)
	defer tick.Stop()
	for {
		var out string
		select {
		case <-r.Context().Done():
			return
		case <-c.dropped:
			return
		case <-tick.C:
			// A stream lasts only as long as the login it was opened
			// with: a session revoked or expired meanwhile ends it.
			if d.cfg.RequireLogin && d.person(r) == "" {
				return
			}
			out = ": heartbeat\n\n"
		case ev := <-c.ch:
			out = eventText(ev)
		}
		// A stream outlives the server's write timeout; each write gets
		// its own, so that a client that stops reading is let go.
		if err := rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return
		}
		if _, err := io.WriteString(w, out); err != nil {
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// eventText is ev in the event stream format.
func eventText(ev Event) string {
	var b strings.Builder
	if name := oneLine(ev.Name); name != "" {
		b.WriteString("event: " + name + "\n")
	}
	for _, line := range strings.Split(strings.ReplaceAll(ev.Data, "\r", ""), "\n") {
		b.WriteString("data: " + line + "\n")
	}
	b.WriteString("\n")
	return b.String()
}

func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, s)
}
