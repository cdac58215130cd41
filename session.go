package broker

import (
	"sync"
	"sync/atomic"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/packets"
)

// subscriber is what the router delivers to: a session, or a callback
// subscription of the in-process API.
type subscriber interface {
	// deliver queues d; an error means it could not be stored (durable
	// sessions), so the publisher must not be told it is safe.
	deliver(d sessions.Delivery) error
	client() *ClientInfo
}

// subscription is one subscription's options as stored in the trie.
type subscription struct {
	qos     byte
	noLocal bool
	rap     bool // retain as published
	rh      byte // retain handling
	id      uint32
}

// session is the broker's state for one client identifier. It outlives
// connections when it is persistent (session expiry above zero).
type session struct {
	b  *Broker
	id string

	mu          sync.Mutex                 // guards every field below, and the ctrl/writing/dead fields of conn
	conn        *conn                      // nil while disconnected
	info        atomic.Pointer[ClientInfo] // set under mu; read without it (client)
	queue       sessions.Queue
	inflight    sessions.Inflight
	window      int                     // QoS>0 deliveries allowed in flight
	subs        map[string]subscription // by filter, as subscribed
	awaitingRel map[uint16]struct{}     // inbound QoS 2 ids awaiting PUBREL
	expiry      uint32                  // session expiry interval, seconds
	will        *will
	backlog     []*retainedBacklog // retained messages of SUBSCRIBEs still to send (retained.go)
	expiryTimer Timer
	willTimer   Timer
	ended       bool
	persisted   bool // saved in storage

	// durable: the session outlives its connection (expiry > 0), so its
	// QoS>0 deliveries are written to storage before they are acknowledged
	// to the publisher. Read without the lock on the delivery path.
	durable atomic.Bool
}

func newSession(b *Broker, id string) *session {
	s := &session{b: b, id: id}
	s.queue.Max = b.limits.MaxQueuedMessages
	return s
}

// client is who the session's client is: read without the session's lock,
// which its writer may hold for a whole batch, for every delivery routed
// to it (No Local, read authorization).
func (s *session) client() *ClientInfo { return s.info.Load() }

// deliver queues d for the client and wakes the writer. A QoS>0 delivery
// to a durable session is stored first, so the publisher's PUBACK (sent
// after routing) means the message is safe.
func (s *session) deliver(d sessions.Delivery) error {
	if d.QoS > 0 && d.Seq == 0 && s.durable.Load() { // Seq != 0: stored already (flushPending, restore)
		sm := toStoredDelivery(&d)
		ctx, cancel := s.b.storeCtx()
		seq, err := s.b.store.Queues().Append(ctx, s.id, sm)
		cancel()
		if err != nil {
			s.b.log.Error("storing queued message", "client", s.id, "err", err)
			return err
		}
		d.Seq = seq
	}
	s.mu.Lock()
	c := s.conn
	if s.ended || (c == nil && d.QoS == 0) {
		ended := s.ended
		s.mu.Unlock()
		if ended {
			s.b.unstore(s, d.Seq) // stored above, before the session ended: no orphan
		} else {
			s.b.dropped(s.id, d.Msg, DropOfflineQoS0)
		}
		return nil
	}
	if d.QoS == 0 && s.b.overBudget.Load() && s.queue.Len() > 0 {
		s.mu.Unlock()
		s.b.dropped(s.id, d.Msg, DropMemory) // shedding load (budget.go)
		return nil
	}
	if s.fullLocked(d.Msg) || !s.queue.Push(d) {
		s.mu.Unlock()
		s.b.unstore(s, d.Seq)
		s.b.dropped(s.id, d.Msg, DropQueueFull)
		return nil
	}
	if c != nil {
		c.kickLocked()
	}
	s.mu.Unlock()
	return nil
}

// deliverRun queues the deliveries of ts (all to s, none left to store)
// under one acquisition of s.mu; the caller wakes the writer (wakeLater).
// It stops at the
// first one that needs more than a push (the session is offline or ended,
// sheds load, or its queue is full) and returns how many it queued: the
// caller delivers the rest one by one, which drops and counts them.
func (s *session) deliverRun(ts []target) int {
	n := 0
	s.mu.Lock()
	if s.conn != nil && !s.ended {
		shedding := s.b.overBudget.Load()
		for n < len(ts) {
			d := &ts[n].d
			if d.QoS == 0 && shedding && s.queue.Len() > 0 {
				break
			}
			if s.fullLocked(d.Msg) || !s.queue.Push(*d) {
				break
			}
			n++
		}
	}
	s.mu.Unlock()
	return n
}

// fullLocked reports whether m would take the session's queued and
// in-flight messages above Limits.MaxQueuedBytes.
func (s *session) fullLocked(m *sessions.Message) bool {
	max := s.b.limits.MaxQueuedBytes
	return max > 0 && s.queue.Bytes()+s.inflight.Bytes()+m.Size() > max
}

// endLocked discards the session's state: subscriptions, queue, in-flight
// messages. Called with b.mu and s.mu held. Many subscriptions are taken
// out of the trie by a goroutine of their own, after the locks are
// released: a session with a million of them must not hold b.mu, which
// every CONNECT needs, for seconds. Meanwhile the ended session ignores
// what is routed to it.
func (s *session) endLocked() {
	b := s.b
	b.metrics.Subscriptions(-len(s.subs))
	if subs := s.subs; len(subs) > 1000 && !b.closing {
		b.wg.Add(1) // not closing, under b.mu: Shutdown has not begun waiting
		go func() {
			defer b.wg.Done()
			for f := range subs {
				b.subs.Unsubscribe(f, s)
			}
		}()
	} else {
		for f := range subs {
			b.subs.Unsubscribe(f, s)
		}
	}
	s.subs = nil
	s.queue.Clear()
	s.backlog = nil
	s.inflight.Clear()
	s.awaitingRel = nil
	s.ended = true
	if s.expiryTimer != nil {
		s.expiryTimer.Stop()
	}
}

// expire ends a disconnected session whose expiry interval has passed.
func (s *session) expire() {
	b := s.b
	b.mu.Lock()
	s.mu.Lock()
	if s.conn != nil || s.ended || b.sessions[s.id] != s {
		s.mu.Unlock()
		b.mu.Unlock()
		return
	}
	w := s.will
	s.will = nil
	if s.willTimer != nil {
		s.willTimer.Stop()
	}
	s.endLocked()
	delete(b.sessions, s.id)
	b.forgettingLocked(s.id)
	s.mu.Unlock()
	b.mu.Unlock()
	b.metrics.Sessions(-1)
	b.metrics.SessionExpired()
	b.forgetSession(s)
	if w != nil {
		b.publishWill(w) // the will is sent at the latest when the session ends [MQTT-3.1.3-9]
		b.forgetWill(s.id)
	}
	for _, h := range b.hooks.session {
		h.OnSessionExpired(s.id)
	}
}

// subscribe records a subscription in the session and the trie; existed
// reports whether the session already had this filter.
func (s *session) subscribe(filter string, so subscription) (existed bool) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	_, existed = s.subs[filter]
	if s.subs == nil {
		s.subs = make(map[string]subscription)
	}
	s.subs[filter] = so
	s.mu.Unlock()
	s.b.subs.Subscribe(filter, s, so)
	if !existed {
		s.b.metrics.Subscriptions(1)
	}
	return existed
}

// unsubscribe removes a subscription; it reports whether one existed.
func (s *session) unsubscribe(filter string) bool {
	s.mu.Lock()
	_, ok := s.subs[filter]
	delete(s.subs, filter)
	s.mu.Unlock()
	if ok {
		s.b.subs.Unsubscribe(filter, s)
		s.b.metrics.Subscriptions(-1)
	}
	return ok
}

// v5 reports whether the connection speaks MQTT 5.
func v5(v packets.Version) bool { return v == packets.V5 }

// online reports whether a client is connected to the session.
func (s *session) online() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conn != nil
}

// setExpiry sets the session expiry interval; called with s.mu held.
func (s *session) setExpiryLocked(secs uint32) {
	s.expiry = secs
	s.durable.Store(secs > 0)
}

// subCount returns the number of subscriptions of the session.
func (s *session) subCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// hasSub reports whether the session subscribes to filter.
func (s *session) hasSub(filter string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.subs[filter]
	return ok
}
