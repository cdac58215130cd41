package broker

import (
	"context"
	"errors"
	"time"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
)

// Write-through to storage. Only what must survive a restart is written:
// persistent sessions (expiry above zero) with their subscriptions, and
// retained messages. Clean sessions never touch the store.

// storeCtx bounds one storage call by Limits.StorageTimeout, so a store
// that stops answering (etcd lost) fails calls instead of stalling clients.
func (b *Broker) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), b.limits.StorageTimeout)
}

// toStored converts a routed message to its stored form.
func toStored(m *sessions.Message) *storage.Message { return storedWith(m, m.Properties) }

// storedWith converts m with the properties p instead of its own.
func storedWith(m *sessions.Message, p *packets.Properties) *storage.Message {
	sm := &storage.Message{Topic: m.Topic, Payload: m.Payload, QoS: m.QoS, Retain: m.Retain, Expiry: m.Expiry}
	if p != nil {
		if b, err := p.Append(nil, packets.PUBLISH); err == nil {
			sm.Properties = b
		}
	}
	return sm
}

// toStoredDelivery converts a delivery for a session's stored queue: the
// message as delivered (QoS, retain flag) with the Subscription
// Identifiers of the subscriptions it matched, which the client must get
// with it after a restart or on another broker [MQTT-3.3.4-3].
func toStoredDelivery(d *sessions.Delivery) *storage.Message {
	p := d.Msg.Properties
	if len(d.SubIDs) > 0 {
		var withIDs packets.Properties
		if p != nil {
			withIDs = *p
		}
		withIDs.SubscriptionIDs = d.SubIDs
		withIDs.Present.Add(packets.PropSubscriptionID)
		p = &withIDs
	}
	sm := storedWith(d.Msg, p)
	sm.QoS, sm.Retain = d.QoS, d.Retain
	return sm
}

// fromStored converts a stored message back; nil if it cannot be decoded.
// subIDs are the Subscription Identifiers stored with a queued delivery
// (toStoredDelivery), kept out of the message, whose properties are shared
// by every subscriber.
func fromStored(sm *storage.Message) (m *sessions.Message, subIDs []uint32) {
	var props *packets.Properties
	if len(sm.Properties) > 0 {
		var p packets.Properties
		if _, err := p.Decode(sm.Properties, packets.PUBLISH); err != nil {
			return nil, nil
		}
		props = &p
		subIDs = p.SubscriptionIDs
	}
	m = sessions.NewMessage([]byte(sm.Topic), sm.Payload, sm.QoS, sm.Retain, props)
	m.Expiry = sm.Expiry
	m.Created = time.Now() // expiry is absolute: Created is informative
	return m, subIDs
}

// saveSession records a persistent session's parameters; the error is
// logged, and returned for callers that must not go on without it.
func (b *Broker) saveSession(s *session) error {
	s.mu.Lock()
	if s.expiry == 0 || s.ended {
		s.mu.Unlock()
		return nil
	}
	st := &storage.Session{ClientID: s.id, ExpiryInterval: s.expiry}
	if info := s.info.Load(); info != nil {
		st.Version = byte(info.Version)
	}
	if s.conn == nil {
		st.DisconnectedAt = b.now()
	}
	for id := range s.awaitingRel {
		st.AwaitingRel = append(st.AwaitingRel, id)
	}
	s.persisted = true
	s.mu.Unlock()
	ctx, cancel := b.storeCtx()
	defer cancel()
	err := b.store.Sessions().Save(ctx, st)
	if err != nil {
		b.log.Error("saving session", "client", s.id, "err", err)
	}
	return err
}

// forgetSession deletes everything stored for a session that ended.
// The caller took s out of b.sessions with forgettingLocked, under b.mu:
// until the stored state is gone, loadSession does not bring it back.
func (b *Broker) forgetSession(s *session) {
	defer func() {
		b.mu.Lock()
		if b.forgetting[s.id]--; b.forgetting[s.id] <= 0 {
			delete(b.forgetting, s.id)
		}
		b.mu.Unlock()
	}()
	s.mu.Lock()
	persisted := s.persisted
	s.persisted = false
	s.mu.Unlock()
	if !persisted {
		return
	}
	ctx, cancel := b.storeCtx()
	defer cancel()
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
	ctx, cancel := b.storeCtx()
	defer cancel()
	err := b.store.Subscriptions().Add(ctx, s.id, storage.Subscription{
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
		ctx, cancel := b.storeCtx()
		defer cancel()
		_ = b.store.Subscriptions().Remove(ctx, s.id, filter)
	}
}

// unstore removes a finished (acknowledged, expired or dropped) delivery
// from the stored queue; seq 0 means it was never stored.
func (b *Broker) unstore(s *session, seq uint64) {
	if seq == 0 {
		return
	}
	ctx, cancel := b.storeCtx()
	defer cancel()
	if err := b.store.Queues().Remove(ctx, s.id, seq); err != nil {
		b.log.Error("removing stored delivery", "client", s.id, "err", err)
	}
}

// unstoreAsync removes a finished delivery without making the client wait:
// losing a removal in a crash only means a redelivery (with DUP), which QoS
// 1 and 2 allow. Concurrent removals let batching backends group their
// commits; at most maxRemovers run, beyond that the caller waits.
func (b *Broker) unstoreAsync(s *session, seq uint64) {
	if seq == 0 {
		return
	}
	select {
	case b.removers <- struct{}{}:
		b.wg.Go(func() {
			b.unstore(s, seq)
			<-b.removers
		})
	default:
		b.unstore(s, seq)
	}
}

// updateStored records a stored delivery's packet identifier and state.
func (b *Broker) updateStored(s *session, q *storage.Queued) {
	ctx, cancel := b.storeCtx()
	defer cancel()
	if err := b.store.Queues().Update(ctx, s.id, q); err != nil {
		b.log.Error("updating stored delivery", "client", s.id, "err", err)
	}
}

// restore loads retained messages and persistent sessions with their
// subscriptions from storage. Restored sessions start disconnected, with
// their expiry counting from the time they were stored as disconnected.
func (b *Broker) restore(ctx context.Context) error {
	var ferr error
	err := b.store.Retained().Range(ctx, func(sm *storage.Message) bool {
		if m, _ := fromStored(sm); m != nil && !m.Expired(b.now()) && b.retained.Set(m.Topic, m) {
			b.metrics.Retained(1)
		}
		return true
	})
	if err != nil {
		return err
	}
	err = b.store.Sessions().Range(ctx, func(st *storage.Session) bool {
		s, err := b.sessionFromStore(ctx, st)
		if err != nil {
			ferr = err
			return false
		}
		b.sessions[s.id] = s
		b.restored(s)
		return true
	})
	if err != nil {
		return err
	}
	if ferr != nil {
		return ferr
	}
	if b.feat.keepStoredWills {
		return nil // the host's (WithoutWillRestore)
	}
	return b.restoreWills(ctx)
}

// sessionFromStore rebuilds a disconnected session from its stored state:
// subscriptions (in the trie) and queued deliveries; its expiry counts from
// the time it was stored as disconnected.
func (b *Broker) sessionFromStore(ctx context.Context, st *storage.Session) (*session, error) {
	s := newSession(b, st.ClientID)
	s.persisted = true
	s.setExpiryLocked(st.ExpiryInterval)
	s.window = b.limits.MaxInflight
	s.info.Store(&ClientInfo{ID: st.ClientID, Version: packets.Version(st.Version)})
	if len(st.AwaitingRel) > 0 {
		s.awaitingRel = make(map[uint16]struct{}, len(st.AwaitingRel))
		for _, id := range st.AwaitingRel {
			s.awaitingRel[id] = struct{}{}
		}
	}
	subs, err := b.store.Subscriptions().ForClient(ctx, st.ClientID)
	if err != nil {
		return nil, err
	}
	if len(subs) > 0 {
		s.subs = make(map[string]subscription, len(subs))
	}
	for _, sub := range subs {
		so := subscription{qos: sub.QoS, noLocal: sub.NoLocal, rap: sub.RetainAsPublished, rh: sub.RetainHandling, id: sub.ID}
		s.subs[sub.Filter] = so
		b.subs.Subscribe(sub.Filter, s, so)
	}
	s.queue.Max = 0 // what was stored is kept, whatever the bound
	err = b.restoreQueue(ctx, s)
	s.queue.Max = b.limits.MaxQueuedMessages
	if err != nil {
		return nil, err
	}
	if s.expiry != 0xFFFFFFFF {
		left := time.Duration(s.expiry) * time.Second
		if !st.DisconnectedAt.IsZero() {
			left -= b.now().Sub(st.DisconnectedAt)
		}
		s.expiryTimer = b.clock.AfterFunc(max(left, 0), s.expire)
	}
	return s, nil
}

// forgettingLocked records, with b.mu held, that the session of id left
// b.sessions and forgetSession will delete its stored state.
func (b *Broker) forgettingLocked(id string) {
	if b.forgetting == nil {
		b.forgetting = make(map[string]int)
	}
	b.forgetting[id]++
}

// loadSession brings a persistent session that this broker does not hold
// from storage, for a client resuming it here: after a restart, or from
// another broker sharing the store.
func (b *Broker) loadSession(ctx context.Context, id string) error {
	b.mu.Lock()
	_, have := b.sessions[id]
	have = have || b.forgetting[id] > 0 // ended here: its stored state is being deleted
	b.mu.Unlock()
	if have {
		return nil
	}
	st, err := b.store.Sessions().Get(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s, err := b.sessionFromStore(ctx, st)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, have := b.sessions[id]; have || b.closing {
		s.mu.Lock()
		for f := range s.subs {
			b.subs.Unsubscribe(f, s)
		}
		if s.expiryTimer != nil {
			s.expiryTimer.Stop()
		}
		s.mu.Unlock()
		return nil
	}
	b.sessions[id] = s
	b.restored(s)
	return nil
}

// restored reports a session brought back from storage to the gauges, so
// that they count what its end will subtract.
func (b *Broker) restored(s *session) {
	b.metrics.Sessions(1)
	if n := len(s.subs); n > 0 {
		b.metrics.Subscriptions(n)
	}
}

// restoreQueue loads a session's stored deliveries, in order; those that
// were sent keep their packet identifier and are resent with DUP.
func (b *Broker) restoreQueue(ctx context.Context, s *session) error {
	return b.store.Queues().Range(ctx, s.id, func(q *storage.Queued) bool {
		m, subIDs := fromStored(&q.Message)
		if m == nil {
			return true
		}
		d := sessions.Delivery{Msg: m, QoS: q.QoS, Retain: q.Retain, Seq: q.Seq, SubIDs: subIDs}
		if q.State != storage.StateQueued && q.PacketID != 0 {
			d.ID = q.PacketID
			d.Dup = q.State == storage.StateSent
			d.Release = q.State == storage.StateReleased
			s.inflight.Reserve(d.ID)
		}
		s.queue.Push(d)
		return true
	})
}

// restoreWills publishes the wills of clients that were connected when the
// broker stopped without tearing them down (a crash): their connections
// ended abnormally [MQTT-3.1.2-8]. A will with a Will Delay Interval whose
// client's persistent session was restored waits, as at a disconnection
// [MQTT-3.1.3-9]: it is published when the delay ends or when the session
// expires, whichever comes first, and not at all if the client resumes
// the session before. The delay counts from this start, not from the
// crash, whose time is not stored: the will goes out as much later as the
// broker was down. It stays stored while it waits, so that
// another crash still finds it. A will with a delay and no restored
// session (it ended with the connection) is published now.
func (b *Broker) restoreWills(ctx context.Context) error {
	type pending struct {
		id string
		w  *storage.Will
	}
	var all []pending
	err := b.store.Wills().Range(ctx, func(id string, w *storage.Will) bool {
		all = append(all, pending{id, w})
		return true
	})
	if err != nil {
		return err
	}
	for _, p := range all {
		if m, _ := fromStored(&p.w.Message); m != nil {
			m.Origin = p.id
			w := &will{msg: m, delay: p.w.Delay, info: ClientInfo{ID: p.id, Listener: "restored"}}
			if w.delay > 0 && b.delayRestoredWill(p.id, w) {
				continue
			}
			b.publishWill(w)
		}
		if err := b.store.Wills().Delete(ctx, p.id); err != nil {
			return err
		}
	}
	return nil
}

// delayRestoredWill gives w to the restored, disconnected session of id,
// whose will it becomes as if its connection had just ended (see
// conn.teardown): fireWill publishes it when its delay ends, expire when
// the session does, and a CONNECT resuming the session drops it. It
// reports false when id has no such session here.
func (b *Broker) delayRestoredWill(id string, w *will) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.sessions[id]
	if s == nil || b.closing {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil || s.ended || s.will != nil {
		return false
	}
	s.will = w
	s.willTimer = b.clock.AfterFunc(time.Duration(w.delay)*time.Second, s.fireWill)
	return true
}

// storeWill records a connected client's will.
func (b *Broker) storeWill(id string, w *will) {
	sw := &storage.Will{Message: *toStored(w.msg), Delay: w.delay}
	ctx, cancel := b.storeCtx()
	defer cancel()
	if err := b.store.Wills().Set(ctx, id, sw); err != nil {
		b.log.Error("storing will", "client", id, "err", err)
	}
}

// forgetWill deletes a stored will (published, or discarded by DISCONNECT).
func (b *Broker) forgetWill(id string) {
	ctx, cancel := b.storeCtx()
	defer cancel()
	if err := b.store.Wills().Delete(ctx, id); err != nil && !errors.Is(err, storage.ErrNotFound) {
		b.log.Error("deleting will", "client", id, "err", err)
	}
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
