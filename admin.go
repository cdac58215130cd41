package broker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/topics"
)

// ErrNoSuchClient is returned by the admin API for a client identifier
// with no connection (Disconnect), no session (RemoveSession,
// ReleaseSession) or no stored session (AdoptSession).
var ErrNoSuchClient = errors.New("broker: no such client")

// ClientStatus describes a connected client (admin API).
type ClientStatus struct {
	ClientInfo
	ConnectedAt time.Time
	Inflight    int // QoS 1/2 deliveries sent and not yet acknowledged
	Queued      int // deliveries waiting to be sent
}

// SessionStatus describes a session, connected or not (admin API).
type SessionStatus struct {
	ClientID  string
	Connected bool
	// Client is the connection's status while connected, nil otherwise.
	Client *ClientStatus
	// ExpiryInterval is the session expiry interval in seconds
	// (0xFFFFFFFF: never expires; 0: ends with the connection).
	ExpiryInterval uint32
	Inflight       int
	Queued         int
	Subscriptions  []Subscription // sorted by filter
}

// Clients lists the connected network clients, sorted by client identifier.
func (b *Broker) Clients() []ClientStatus {
	b.mu.Lock()
	conns := make([]*conn, 0, len(b.conns))
	for c := range b.conns {
		conns = append(conns, c)
	}
	b.mu.Unlock()
	out := make([]ClientStatus, 0, len(conns))
	for _, c := range conns {
		s := c.sess
		if s == nil {
			continue
		}
		s.mu.Lock()
		if s.conn == c {
			out = append(out, ClientStatus{ClientInfo: c.info, ConnectedAt: time.Unix(0, c.connectedAt), Inflight: s.inflight.Len(), Queued: s.queue.Len()})
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b ClientStatus) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Session describes the session of clientID, connected or not; ok is false
// when the broker holds none.
func (b *Broker) Session(clientID string) (st SessionStatus, ok bool) {
	b.mu.Lock()
	s := b.sessions[clientID]
	b.mu.Unlock()
	if s == nil {
		return SessionStatus{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st = SessionStatus{ClientID: clientID, ExpiryInterval: s.expiry, Inflight: s.inflight.Len(), Queued: s.queue.Len()}
	if c := s.conn; c != nil {
		st.Connected = true
		st.Client = &ClientStatus{ClientInfo: c.info, ConnectedAt: time.Unix(0, c.connectedAt), Inflight: st.Inflight, Queued: st.Queued}
	}
	for f, so := range s.subs {
		st.Subscriptions = append(st.Subscriptions, Subscription{Filter: f, QoS: so.qos, NoLocal: so.noLocal, RetainAsPublished: so.rap, RetainHandling: so.rh, Identifier: so.id})
	}
	slices.SortFunc(st.Subscriptions, func(a, b Subscription) int { return strings.Compare(a.Filter, b.Filter) })
	return st, true
}

// Disconnect closes the connection of clientID. An MQTT 5 client first
// gets DISCONNECT with code: AdministrativeAction (0x98) to kick it, or
// UseAnotherServer (0x9C) / ServerMoved (0x9D) with serverRef to move it
// [MQTT-4.11]; a 3.1.x client is closed. Its will is published, as for any
// disconnection the client did not ask for. It returns once the
// connection is torn down, or ErrNoSuchClient.
func (b *Broker) Disconnect(clientID string, code packets.ReasonCode, serverRef string) error {
	if !code.IsError() {
		return errors.New("broker: Disconnect needs an error reason code (0x80 or above)")
	}
	b.mu.Lock()
	s := b.sessions[clientID]
	b.mu.Unlock()
	if s == nil {
		return ErrNoSuchClient
	}
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		return ErrNoSuchClient
	}
	c.disconnectRef(code, serverRef)
	c.done.Wait()
	return nil
}

// RemoveSession discards the session of clientID with its subscriptions,
// queue and stored state, disconnecting the client first (MQTT 5:
// AdministrativeAction) when it is connected. ErrNoSuchClient when there
// is none.
func (b *Broker) RemoveSession(clientID string) error {
	if err := b.Disconnect(clientID, packets.AdministrativeAction, ""); err != nil && !errors.Is(err, ErrNoSuchClient) {
		return err
	}
	b.mu.Lock()
	s := b.sessions[clientID]
	if s == nil {
		b.mu.Unlock()
		return ErrNoSuchClient
	}
	s.mu.Lock()
	if s.conn != nil { // reconnected meanwhile: it keeps its session
		s.mu.Unlock()
		b.mu.Unlock()
		return errors.New("broker: client reconnected during RemoveSession")
	}
	s.will = nil
	if s.willTimer != nil {
		s.willTimer.Stop()
	}
	s.endLocked()
	delete(b.sessions, clientID)
	b.forgettingLocked(clientID)
	s.mu.Unlock()
	b.mu.Unlock()
	b.metrics.Sessions(-1)
	b.forgetSession(s)
	b.forgetWill(clientID)
	return nil
}

// Sessions lists the client identifiers of the sessions the broker holds,
// connected or not (those restored from storage at New included), sorted.
func (b *Broker) Sessions() []string {
	b.mu.Lock()
	out := make([]string, 0, len(b.sessions))
	for id := range b.sessions {
		out = append(out, id)
	}
	b.mu.Unlock()
	slices.Sort(out)
	return out
}

// ReleaseSession drops the broker's copy of clientID's session without
// touching storage: its subscriptions, queue, expiry and will delay timers
// go; its stored state (and stored will) stay. It is for a store shared by
// several brokers when another broker holds the session: a cluster node
// that restarts restores every stored session at New, also those other
// nodes hold. It returns ErrNoSuchClient when the broker holds no session
// of clientID, and an error when a client is connected to it.
func (b *Broker) ReleaseSession(clientID string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.sessions[clientID]
	if s == nil {
		return ErrNoSuchClient
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		return errors.New("broker: ReleaseSession of a connected client")
	}
	b.dropSessionLocked(s)
	return nil
}

// AdoptSession loads clientID's persistent session from storage and holds
// it as any disconnected persistent session: matching messages are routed
// to it by the usual rules (granted QoS, No Local [MQTT-3.8.3-3],
// Subscription Identifiers, Retain As Published [MQTT-3.3.1-12], queue
// bounds, message expiry) and stored before the publisher is acknowledged;
// its Session Expiry Interval runs on this broker's timer, from its
// disconnection or, for a client connected when its broker died, from now
// [MQTT-3.1.2-23]. It is for a store shared by several brokers, when the
// broker that held the session died: someone must queue for the session
// until its client comes back. When the client connects to another broker
// sharing a storage.Claimer store, this broker drops its copy, as it does
// for any session claimed elsewhere; ReleaseSession drops it too.
//
// The broker does not claim the client and leaves the stored will alone
// (the dead broker's client's will is the caller's). It returns nil when
// the broker holds the session already, ErrNoSuchClient when none is
// stored (or it is ending here), ErrClosed after Shutdown began, and the
// store's error otherwise.
func (b *Broker) AdoptSession(ctx context.Context, clientID string) error {
	if err := b.loadSession(ctx, clientID); err != nil {
		return fmt.Errorf("broker: adopting the session of %q: %w", clientID, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, held := b.sessions[clientID]; held {
		return nil
	}
	if b.closing {
		return ErrClosed
	}
	return ErrNoSuchClient
}

// ID returns the identifier this broker instance records in the client
// claims of a shared store (storage.Claimer): random, new at each New. A
// cluster compares it with a claim's owner to tell which clients were
// connected to a broker that died.
func (b *Broker) ID() string { return b.id }

// Retained returns the retained messages whose topics match filter, in no
// particular order, without asking the Authorizer.
func (b *Broker) Retained(filter string) ([]*Message, error) {
	if err := topics.ValidateFilter([]byte(filter)); err != nil {
		return nil, packets.TopicFilterInvalid
	}
	now := b.now()
	var out []*Message
	for _, m := range b.retainedMatching(filter) {
		if !m.Expired(now) {
			out = append(out, exported(m, nil, now))
		}
	}
	return out, nil
}

// DeleteRetained clears the retained message of topic, if any, in memory
// and in storage.
func (b *Broker) DeleteRetained(topic string) error {
	return b.retain(b.internal(&Message{Topic: topic, Retain: true}), true)
}
