package broker

import (
	"context"
	"time"

	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/sessions"
	"github.com/ternmq/broker/storage"
)

// Write-through to storage. Only what must survive a restart is written:
// persistent sessions (expiry above zero) with their subscriptions, and
// retained messages. Clean sessions never touch the store.

// toStored converts a routed message to its stored form.
func toStored(m *sessions.Message) *storage.Message {
	sm := &storage.Message{Topic: m.Topic, Payload: m.Payload, QoS: m.QoS, Retain: m.Retain, Expiry: m.Expiry}
	if m.Properties.Present != 0 || len(m.Properties.User) > 0 {
		if b, err := m.Properties.Append(nil, packets.PUBLISH); err == nil {
			sm.Properties = b
		}
	}
	return sm
}

// fromStored converts a stored message back; nil if it cannot be decoded.
func fromStored(sm *storage.Message) *sessions.Message {
	var props *packets.Properties
	if len(sm.Properties) > 0 {
		var p packets.Properties
		if _, err := p.Decode(sm.Properties, packets.PUBLISH); err != nil {
			return nil
		}
		props = &p
	}
	m := sessions.NewMessage([]byte(sm.Topic), sm.Payload, sm.QoS, sm.Retain, props)
	m.Expiry = sm.Expiry
	m.Created = time.Now()
	return m
}

// saveSession records a persistent session's parameters.
func (b *Broker) saveSession(s *session) {
	s.mu.Lock()
	if s.expiry == 0 || s.ended {
		s.mu.Unlock()
		return
	}
	st := &storage.Session{ClientID: s.id, ExpiryInterval: s.expiry}
	if s.info != nil {
		st.Version = byte(s.info.Version)
	}
	if s.conn == nil {
		st.DisconnectedAt = time.Now()
	}
	for id := range s.awaitingRel {
		st.AwaitingRel = append(st.AwaitingRel, id)
	}
	s.persisted = true
	s.mu.Unlock()
	if err := b.store.Sessions().Save(context.Background(), st); err != nil {
		b.log.Error("saving session", "client", s.id, "err", err)
	}
}

// forgetSession deletes everything stored for a session that ended.
func (b *Broker) forgetSession(s *session) {
	s.mu.Lock()
	persisted := s.persisted
	s.persisted = false
	s.mu.Unlock()
	if !persisted {
		return
	}
	ctx := context.Background()
	st := b.store
	id := s.id
	_ = st.Sessions().Delete(ctx, id)
	_ = st.Subscriptions().RemoveAll(ctx, id)
	_ = st.Queues().Clear(ctx, id)
	_ = st.Wills().Delete(ctx, id)
}

// persistSubscription stores a persistent session's subscription.
func (b *Broker) persistSubscription(s *session, filter string, so subscription) {
	s.mu.Lock()
	persistent := s.expiry > 0
	s.mu.Unlock()
	if !persistent {
		return
	}
	err := b.store.Subscriptions().Add(context.Background(), s.id, storage.Subscription{
		Filter: filter, QoS: so.qos, NoLocal: so.noLocal, RetainAsPublished: so.rap, RetainHandling: so.rh, ID: so.id,
	})
	if err != nil {
		b.log.Error("storing subscription", "client", s.id, "filter", filter, "err", err)
	}
}

// forgetSubscription removes a stored subscription.
func (b *Broker) forgetSubscription(s *session, filter string) {
	s.mu.Lock()
	persistent := s.expiry > 0
	s.mu.Unlock()
	if persistent {
		_ = b.store.Subscriptions().Remove(context.Background(), s.id, filter)
	}
}

// ackedLocked removes an acknowledged delivery from the stored queue.
// Deliveries are persisted only by backends wired for queues (Seq != 0).
func (b *Broker) ackedLocked(s *session, seq uint64) {
	if seq != 0 {
		_ = b.store.Queues().Remove(context.Background(), s.id, seq)
	}
}

// restore loads retained messages and persistent sessions with their
// subscriptions from storage. Restored sessions start disconnected, with
// their expiry counting from the time they were stored as disconnected.
func (b *Broker) restore(ctx context.Context) error {
	var ferr error
	err := b.store.Retained().Range(ctx, func(sm *storage.Message) bool {
		if m := fromStored(sm); m != nil && !m.Expired(time.Now()) {
			b.retained.Set(m.Topic, m)
		}
		return true
	})
	if err != nil {
		return err
	}
	err = b.store.Sessions().Range(ctx, func(st *storage.Session) bool {
		s := newSession(b, st.ClientID)
		s.persisted = true
		s.expiry = st.ExpiryInterval
		s.window = b.limits.MaxInflight
		s.info = &ClientInfo{ID: st.ClientID, Version: packets.Version(st.Version)}
		if len(st.AwaitingRel) > 0 {
			s.awaitingRel = make(map[uint16]struct{}, len(st.AwaitingRel))
			for _, id := range st.AwaitingRel {
				s.awaitingRel[id] = struct{}{}
			}
		}
		b.sessions[s.id] = s
		subs, err := b.store.Subscriptions().ForClient(ctx, st.ClientID)
		if err != nil {
			ferr = err
			return false
		}
		for _, sub := range subs {
			so := subscription{qos: sub.QoS, noLocal: sub.NoLocal, rap: sub.RetainAsPublished, rh: sub.RetainHandling, id: sub.ID}
			s.subs[sub.Filter] = so
			b.subs.Subscribe(sub.Filter, s, so)
		}
		if s.expiry != 0xFFFFFFFF {
			left := time.Duration(s.expiry) * time.Second
			if !st.DisconnectedAt.IsZero() {
				left -= time.Since(st.DisconnectedAt)
			}
			s.expiryTimer = time.AfterFunc(max(left, 0), s.expire)
		}
		return true
	})
	if err != nil {
		return err
	}
	return ferr
}

// stopTimers stops session expiry and will delay timers (at shutdown).
func (b *Broker) stopTimers() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.sessions {
		s.mu.Lock()
		if s.expiryTimer != nil {
			s.expiryTimer.Stop()
		}
		if s.willTimer != nil {
			s.willTimer.Stop()
		}
		s.mu.Unlock()
	}
}
