package broker

import (
	"errors"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/storage"
)

// retain stores, replaces or (with an empty payload) deletes the retained
// message of m's topic [MQTT-3.3.1-5..7], in memory and, if store, in
// storage. With the broker's own memory store (no WithStorage) the
// retained index is the only copy: nothing could read the store's after
// the broker is gone. store is false for a message another broker sharing
// the store wrote there (Message.RetainStored).
func (b *Broker) retain(m *sessions.Message, store bool) error {
	store = store && !b.ownStore
	ctx, cancel := b.storeCtx()
	defer cancel()
	if len(m.Payload) == 0 {
		if b.retained.Delete(m.Topic) {
			b.metrics.Retained(-1)
			var err error
			if store {
				// Already gone (another broker on the same store cleared
				// it): the clear succeeded.
				if err = b.store.Retained().Delete(ctx, m.Topic); errors.Is(err, storage.ErrNotFound) {
					err = nil
				}
			}
			for _, h := range b.hooks.retained {
				h.OnRetained(m.Topic, nil)
			}
			if err != nil {
				b.hooks.only.take(m) // not routed: forget its SharedGroups
			}
			return err
		}
		return nil
	}
	if store {
		if err := b.store.Retained().Set(ctx, toStored(m)); err != nil {
			b.log.Error("storing retained message", "topic", m.Topic, "err", err)
			b.hooks.only.take(m) // not routed: forget its SharedGroups
			return err
		}
	}
	if b.retained.Set(m.Topic, m) {
		b.metrics.Retained(1)
	}
	if len(b.hooks.retained) > 0 {
		em := exported(m, nil, b.now())
		for _, h := range b.hooks.retained {
			h.OnRetained(m.Topic, em)
		}
	}
	return nil
}

// retainedBacklog is the retained messages one SUBSCRIBE must send
// [MQTT-3.3.1-9]. They are not pushed into the session's queue, which is
// bounded and would drop most of a large set: the writer takes them a few
// hundred at a time as the client acknowledges (its Receive Maximum and
// the in-flight window apply), ahead of what was queued after the
// SUBSCRIBE. A subscriber gets every retained message its filter matches,
// for 8 bytes each while it waits.
type retainedBacklog struct {
	msgs   []*sessions.Message
	qos    byte     // granted QoS of the subscription
	subIDs []uint32 // its Subscription Identifier, if any
	next   int      // index of the next message to send
}

// backlogChunk is how many retained deliveries the writer moves to the
// queue at a time, and the queue length below which it does.
const backlogChunk = 256

// backlogEntryBytes is what one waiting retained delivery costs (a pointer
// in the backlog); a session's backlog is bounded by MaxQueuedBytes of
// them, so a client that subscribes to "#" again and again cannot make the
// broker hold a list of every retained message per SUBSCRIBE without end.
const backlogEntryBytes = 8

// addBacklog queues retained backlogs for the writer and wakes it. What
// would take the backlog past its bound is dropped and counted.
func (s *session) addBacklog(rbs []*retainedBacklog) {
	if len(rbs) == 0 {
		return
	}
	var dropped []*sessions.Message
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	room := -1 // no bound
	if max := s.b.limits.MaxQueuedBytes; max > 0 {
		room = max / backlogEntryBytes
		for _, rb := range s.backlog {
			room -= len(rb.msgs) - rb.next
		}
	}
	for _, rb := range rbs {
		if room >= 0 && len(rb.msgs) > room {
			dropped = append(dropped, rb.msgs[max(room, 0):]...)
			rb.msgs = rb.msgs[:max(room, 0)]
		}
		if len(rb.msgs) > 0 {
			s.backlog = append(s.backlog, rb)
		}
		if room >= 0 {
			room = max(room-len(rb.msgs), 0)
		}
	}
	s.refillLocked()
	if s.conn != nil {
		s.conn.kickLocked()
	}
	s.mu.Unlock()
	s.b.droppedAll(s.id, dropped, DropQueueFull)
}

// refillLocked moves retained deliveries from the backlog to the front of
// the queue while the queue is short: they go out before the live messages
// that arrived after their SUBSCRIBE, so a retained value never follows a
// newer one of its topic.
func (s *session) refillLocked() {
	if len(s.backlog) == 0 || s.queue.Len() >= backlogChunk {
		return
	}
	var chunk [backlogChunk]sessions.Delivery
	n := 0
	for n < backlogChunk && len(s.backlog) > 0 {
		rb := s.backlog[0]
		m := rb.msgs[rb.next]
		rb.msgs[rb.next] = nil
		rb.next++
		chunk[n] = sessions.Delivery{Msg: m, QoS: grantedQoS(m.QoS, rb.qos), Retain: true, SubIDs: rb.subIDs} // [MQTT-3.3.1-8]
		n++
		if rb.next == len(rb.msgs) {
			s.backlog[0] = nil
			s.backlog = s.backlog[1:]
		}
	}
	s.queue.PushFrontAll(chunk[:n])
}
