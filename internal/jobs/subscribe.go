package jobs

// SubscriptionBuffer is how many events a subscriber may fall behind
// before its channel is closed.
const SubscriptionBuffer = 256

type subscription struct {
	ch chan Event
}

// Subscribe delivers the events of run id that this process commits from
// now on, in order, until cancel is called or the system stops. The
// channel is closed then, and also when the subscriber falls
// SubscriptionBuffer events behind: a subscriber reads what it missed
// with Events (after the last Seq it saw) and subscribes again. Events
// written by other processes are only in Events.
func (s *System) Subscribe(id int64) (events <-chan Event, cancel func()) {
	sub := &subscription{ch: make(chan Event, SubscriptionBuffer)}
	s.mu.Lock()
	if s.subs[id] == nil {
		s.subs[id] = map[*subscription]struct{}{}
	}
	s.subs[id][sub] = struct{}{}
	s.mu.Unlock()
	return sub.ch, func() { s.unsubscribe(id, sub) }
}

func (s *System) unsubscribe(id int64, sub *subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.subs[id][sub]; !ok {
		return
	}
	delete(s.subs[id], sub)
	if len(s.subs[id]) == 0 {
		delete(s.subs, id)
	}
	close(sub.ch)
}

// publish hands a committed event to the run's subscribers.
func (s *System) publish(e Event) {
	s.mu.Lock()
	for sub := range s.subs[e.RunID] {
		select {
		case sub.ch <- e:
		default:
			delete(s.subs[e.RunID], sub)
			close(sub.ch)
		}
	}
	s.mu.Unlock()
	if s.cfg.Hooks.Event != nil {
		s.cfg.Hooks.Event(e)
	}
}

func (s *System) closeSubscriptions() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, subs := range s.subs {
		for sub := range subs {
			close(sub.ch)
		}
		delete(s.subs, id)
	}
}
