package broker

import (
	"bytes"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/topics"
)

// handlePublish handles an inbound PUBLISH: validate, authorize, route,
// retain, acknowledge.
func (c *conn) handlePublish(fh packets.FixedHeader, body []byte) error {
	b := c.b
	var pk packets.Publish
	c.samples++
	sample := c.samples%64 == 0 // timings for one PUBLISH in 64 (Metrics)
	var t0 time.Time
	if sample {
		t0 = time.Now()
	}
	if err := pk.Decode(fh.Flags, body, c.version); err != nil {
		return err
	}
	if sample {
		b.metrics.PacketDecoded(time.Since(t0))
	}
	b.stats.MessagesReceived.Add(1)
	if c.pubRate != nil && !c.pubRate.allow(time.Now()) {
		return &packets.Error{Packet: packets.PUBLISH, Field: "rate", Reason: "publish rate limit", Code: packets.MessageRateTooHigh}
	}
	if pk.QoS > b.feat.maxQoS {
		return &packets.Error{Packet: packets.PUBLISH, Field: "QoS", Reason: "above the server's maximum QoS", Code: packets.QoSNotSupported} // [MQTT-3.2.2-11]
	}
	if pk.QoS > 0 && b.overBudget.Load() {
		// Shedding load (budget.go): refuse rather than acknowledge what
		// might not be kept.
		if !v5(c.version) {
			return &packets.Error{Packet: packets.PUBLISH, Field: "memory", Reason: "over the memory budget", Code: packets.QuotaExceeded}
		}
		return c.ackPublish(&pk, packets.QuotaExceeded)
	}
	if pk.Retain && b.feat.noRetain {
		return &packets.Error{Packet: packets.PUBLISH, Field: "retain", Reason: "retain not available", Code: packets.RetainNotSupported} // [MQTT-3.2.2-14]
	}
	topic := pk.Topic
	if v5(c.version) {
		if pk.Properties.Present.Has(packets.PropSubscriptionID) {
			// Only the server sends Subscription Identifiers [MQTT-3.3.4-6].
			return &packets.Error{Packet: packets.PUBLISH, Field: "subscription identifier", Reason: "sent by a client [MQTT-3.3.4-6]", Code: packets.ProtocolError}
		}
		if pk.Properties.Present.Has(packets.PropResponseTopic) && topics.ValidateName(pk.Properties.ResponseTopic) != nil {
			// A Response Topic is a topic name: no wildcards [MQTT-3.3.2-14].
			return &packets.Error{Packet: packets.PUBLISH, Field: "response topic", Reason: "not a valid topic name [MQTT-3.3.2-14]", Code: packets.ProtocolError}
		}
		if pk.Properties.Present.Has(packets.PropTopicAlias) {
			t, err := c.aliases.Resolve(pk.Properties.TopicAlias, topic)
			if errors.Is(err, topics.ErrAliasBytes) {
				return &packets.Error{Packet: packets.PUBLISH, Field: "topic alias", Reason: err.Error(), Code: packets.QuotaExceeded}
			}
			if err != nil {
				// Alias 0, above the maximum, or unknown [MQTT-3.3.2-8, 3.3.2-9].
				return &packets.Error{Packet: packets.PUBLISH, Field: "topic alias", Reason: err.Error(), Code: packets.TopicAliasInvalid}
			}
			topic = t
		}
		if pk.Properties.PayloadFormat == 1 && !utf8.Valid(pk.Payload) {
			// [MQTT-3.3.2-4]: the receiver may reject a payload that is not UTF-8.
			return c.ackPublish(&pk, packets.PayloadFormatInvalid)
		}
	}
	// The topic is valid here: the codec checked it (UTF-8, no U+0000, no
	// wildcard, not empty without an alias) and an alias maps to a topic
	// it checked before.
	s := c.sess
	if pk.QoS == 2 {
		s.mu.Lock()
		if _, dup := s.awaitingRel[pk.PacketID]; dup {
			// Already received and routed: acknowledge again, deliver once [MQTT-4.3.3-10].
			s.mu.Unlock()
			return c.ackPublish(&pk, packets.Success)
		}
		if v5(c.version) && len(s.awaitingRel) >= int(b.limits.ReceiveMaximum) {
			s.mu.Unlock()
			return &packets.Error{Packet: packets.PUBLISH, Field: "packet identifier", Reason: "receive maximum exceeded", Code: packets.ReceiveMaximumExceeded} // [MQTT-3.3.4-9]
		}
		s.mu.Unlock()
	}
	var props *packets.Properties
	if v5(c.version) {
		props = &pk.Properties
	}
	m := sessions.NewMessage(topic, pk.Payload, pk.QoS, pk.Retain, props)
	// Authorized with the message's topic: one string for both.
	if d := b.authorizePublish(&c.info, m.Topic, pk.QoS, pk.Retain); !d.Allowed() {
		return c.ackPublish(&pk, refusal(d, packets.ImplementationSpecificError))
	}
	m.Origin = c.info.ID
	m.Created = c.receivedAt()
	if v5(c.version) && pk.Properties.Present.Has(packets.PropMessageExpiry) {
		m.Expiry = m.Created.Add(time.Duration(b.capExpiry(pk.Properties.MessageExpiry)) * time.Second)
	} else if b.limits.MaxMessageExpiry > 0 {
		m.Expiry = m.Created.Add(time.Duration(b.limits.MaxMessageExpiry) * time.Second)
	}
	m, wait, err := b.publishHooks(&c.info, m, true)
	if errors.Is(err, ErrNotAccepted) && pk.QoS > 0 {
		// Not kept: never acknowledged. 3.1.x has no code, so the
		// connection closes and the client resends after reconnecting.
		if !v5(c.version) {
			return fmt.Errorf("publish hook: %w", err)
		}
		return c.ackPublish(&pk, codeOr(err, packets.UnspecifiedError))
	}
	if err != nil {
		return c.ackPublish(&pk, codeOr(err, packets.NotAuthorized))
	}
	b.metrics.MessagePublished(c.info.Listener, m.QoS)
	if m.Retain && !b.hooks.only.groupsOnly(m) {
		if err := b.retain(m, true); err != nil {
			if wait != nil {
				_ = wait()
			}
			return c.ackPublish(&pk, packets.UnspecifiedError)
		}
	}
	if sample {
		t0 = time.Now()
	}
	n, err := b.routeFrom(m, c)
	if sample {
		b.metrics.MessageRouted(time.Since(t0))
	}
	if err != nil && pk.QoS > 0 {
		// Not stored for every durable subscriber: never acknowledge what
		// was not kept. v5 says why; 3.1.x has no code, so the connection
		// closes and the client resends after reconnecting.
		if wait != nil {
			_ = wait()
		}
		if !v5(c.version) {
			return fmt.Errorf("storage: %w", err)
		}
		return c.ackPublish(&pk, packets.ImplementationSpecificError)
	}
	code := packets.Success
	if n == 0 {
		code = packets.NoMatchingSubscribers
	}
	if wait != nil {
		// A hook learns later whether it was kept (AcceptLater): the
		// acknowledgement waits for it at the end of the read batch.
		c.pendingAcks = append(c.pendingAcks, pendingAck{qos: pk.QoS, id: pk.PacketID, code: code, wait: wait})
		return nil
	}
	return c.ackPublish(&pk, code)
}

// ackPublish acknowledges pk with code (v5), now or, while deliveries of
// this connection are deferred, after them in order (pipeline.go).
func (c *conn) ackPublish(pk *packets.Publish, code packets.ReasonCode) error {
	if len(c.pending) > 0 || len(c.pendingAcks) > 0 { // deliveries or acks of this connection are deferred: keep acks in order
		c.pendingAcks = append(c.pendingAcks, pendingAck{qos: pk.QoS, id: pk.PacketID, code: code})
		return nil
	}
	c.sendAck(pk.QoS, pk.PacketID, code)
	return nil
}

// sendAck sends PUBACK or PUBREC with code (v5) and records an accepted
// QoS 2 identifier. For 3.1.x clients a refused message is still
// acknowledged (they have no way to hear why) and silently dropped.
func (c *conn) sendAck(qos byte, id uint16, code packets.ReasonCode) {
	if !v5(c.version) {
		code = packets.Success
	}
	switch qos {
	case 1:
		c.sendAckPacket(packets.Ack{Kind: packets.PUBACK, PacketID: id, ReasonCode: code})
	case 2:
		if !code.IsError() {
			s := c.sess
			s.mu.Lock()
			if s.awaitingRel == nil {
				s.awaitingRel = make(map[uint16]struct{})
			}
			s.awaitingRel[id] = struct{}{}
			s.mu.Unlock()
			if s.durable.Load() {
				c.b.saveSession(s) // exactly once across a restart [MQTT-4.3.3]
			}
		}
		c.sendAckPacket(packets.Ack{Kind: packets.PUBREC, PacketID: id, ReasonCode: code})
	}
}

func (b *Broker) capExpiry(secs uint32) uint32 {
	if b.limits.MaxMessageExpiry > 0 {
		return min(secs, b.limits.MaxMessageExpiry)
	}
	return secs
}

// routeState is the reusable scratch space of one route call.
type routeState struct {
	m      topics.Matches[subscriber, subscription]
	merged map[subscriber]int
	tg     []target
}

// target is one delivery decided by routing.
type target struct {
	to  subscriber
	d   sessions.Delivery
	ack int // index of the publisher's deferred acknowledgement (see flushPending)
}

// durable reports whether the delivery must be stored before its
// publisher is acknowledged.
func (t *target) durable() bool {
	s, ok := t.to.(*session)
	return ok && t.d.QoS > 0 && s.durable.Load()
}

// unstored reports whether t must be stored and is not yet.
func (t *target) unstored() bool { return t.d.Seq == 0 && t.durable() }

// route delivers m to every matching subscription and returns how many
// subscribers it went to, and an error if a durable session could not store
// its copy. Overlapping subscriptions of one client give one
// delivery at the highest granted QoS, carrying every subscription
// identifier [MQTT-3.3.4-2, 3.3.4-3]; a shared group gets one delivery,
// to one member [MQTT-4.8.2].
func (b *Broker) route(m *sessions.Message) (int, error) { return b.routeFrom(m, nil) }

// routeFrom is route for a message from connection c: when a delivery
// must be stored (or c already has deferred ones, to keep their order), the
// deliveries are deferred to c.flushPending, which stores a whole read
// batch of messages in one commit before queueing and acknowledging them.
func (b *Broker) routeFrom(m *sessions.Message, c *conn) (int, error) {
	st := b.matches.Get().(*routeState)
	b.subs.Match(unsafeBytes(m.Topic), &st.m)
	only, groupsOnly, restricted := b.hooks.only.take(m) // Message.SharedGroups
	if groupsOnly {
		clear(st.m.Subs) // its other subscribers had it (Message.SharedGroupsOnly)
		st.m.Subs = st.m.Subs[:0]
	}
	if oneFilter(st.m.Subs) {
		// All from one trie node: one entry per subscriber, nothing to merge.
		for i := range st.m.Subs {
			e := &st.m.Subs[i]
			if b.accepts(e.Key, e.Value, m) {
				st.tg = append(st.tg, target{to: e.Key, d: b.delivery(m, e.Value)})
			}
		}
	} else {
		if st.merged == nil {
			st.merged = make(map[subscriber]int)
		}
		for i := range st.m.Subs {
			e := &st.m.Subs[i]
			if !b.accepts(e.Key, e.Value, m) {
				continue
			}
			if j, ok := st.merged[e.Key]; ok {
				d := &st.tg[j].d
				d.QoS = max(d.QoS, grantedQoS(m.QoS, e.Value.qos))
				d.Retain = d.Retain || (e.Value.rap && m.Retain)
				if e.Value.id != 0 {
					d.SubIDs = append(d.SubIDs, e.Value.id)
				}
				continue
			}
			st.merged[e.Key] = len(st.tg)
			st.tg = append(st.tg, target{to: e.Key, d: b.delivery(m, e.Value)})
		}
		clear(st.merged)
	}
	for _, g := range st.m.Groups {
		if restricted && !listed(only, g.Name, g.Filter) {
			continue // another broker serves this group
		}
		if to, d, ok := b.pickShared(g, m, nil); ok {
			st.tg = append(st.tg, target{to: to, d: d})
		}
	}
	n := len(st.tg)
	if n == 1 && !m.Retain {
		// Not written otherwise: a retained message is visible to other
		// subscribers (and their writers) before it is routed.
		m.Once = true
	}
	var serr error
	if c != nil {
		c.deferTargets(st.tg) // delivered by c.flushPending
	} else {
		for i := range st.tg {
			if err := st.tg[i].to.deliver(st.tg[i].d); err != nil {
				serr = err
			}
		}
	}
	clear(st.tg)
	st.tg = st.tg[:0]
	clear(st.m.Subs)
	clear(st.m.Groups)
	st.m.Reset()
	b.matches.Put(st)
	return n, serr
}

// oneFilter reports whether every entry was subscribed with the same filter
// (so no subscriber appears twice).
func oneFilter(subs []topics.Entry[subscriber, subscription]) bool {
	for i := 1; i < len(subs); i++ {
		if subs[i].Filter != subs[0].Filter {
			return false
		}
	}
	return true
}

// accepts applies No Local [MQTT-3.8.3-3] and read authorization.
func (b *Broker) accepts(to subscriber, so subscription, m *sessions.Message) bool {
	if so.noLocal && m.Origin != "" && to.client().ID == m.Origin {
		return false
	}
	if b.authz == nil {
		return true
	}
	return b.canRead(to.client(), m.Topic, m.QoS)
}

// untouched reports whether the PublishHooks left em as exported from m
// (orig is em as it was before them): what routing uses, that is, not the
// Subscription Identifiers, the publisher or the time received, which
// routing takes from m anyway.
func untouched(em, orig *Message, m *sessions.Message) bool {
	if em.Topic != orig.Topic || em.QoS != orig.QoS || em.Retain != orig.Retain ||
		em.PayloadUTF8 != orig.PayloadUTF8 || em.Expiry != orig.Expiry ||
		em.ContentType != orig.ContentType || em.ResponseTopic != orig.ResponseTopic ||
		len(em.UserProperties) != len(orig.UserProperties) || !bytes.Equal(em.Payload, m.Payload) {
		return false
	}
	p := m.Properties
	if p == nil {
		p = &noProperties
	}
	if (em.CorrelationData == nil) != (p.CorrelationData == nil) || !bytes.Equal(em.CorrelationData, p.CorrelationData) {
		return false
	}
	for i, u := range em.UserProperties { // in place or replaced
		if u.Key != string(p.User[i].Key) || u.Value != string(p.User[i].Value) {
			return false
		}
	}
	return true
}

// grantedQoS is the QoS a subscription delivers a message published at qos.
func grantedQoS(published, subscribed byte) byte { return min(published, subscribed) }

// delivery is what one subscription gets of m: granted QoS, retain flag
// cleared unless Retain As Published [MQTT-3.3.1-9..13], identifier.
func (b *Broker) delivery(m *sessions.Message, so subscription) sessions.Delivery {
	d := sessions.Delivery{Msg: m, QoS: grantedQoS(m.QoS, so.qos), Retain: so.rap && m.Retain}
	if so.id != 0 {
		d.SubIDs = []uint32{so.id}
	}
	return d
}

// runPublishHooks hands the PublishHooks a copy of m they may change.
// When one changes the topic, the new topic is validated and authorized
// again; the message routed is rebuilt from what the hooks left. Hooks run
// under no broker lock.
func (b *Broker) runPublishHooks(c *ClientInfo, m *sessions.Message) (*sessions.Message, error) {
	out, wait, err := b.publishHooks(c, m, false)
	if err == nil && wait != nil {
		if err = wait(); err != nil {
			return nil, err
		}
	}
	return out, err
}

// publishHooks is runPublishHooks for a PUBLISH read from a client: when
// later is true, a hook's AcceptLater wait is returned instead of waited
// for (several are waited for in turn by one wait).
func (b *Broker) publishHooks(c *ClientInfo, m *sessions.Message, later bool) (*sessions.Message, func() error, error) {
	if len(b.hooks.publish) == 0 {
		return m, nil, nil
	}
	var waits []func() error
	now := b.now()
	em := exported(m, nil, now)
	if groups, only, ok := b.hooks.only.take(m); ok {
		em.SharedGroups, em.SharedGroupsOnly = groups, only
	}
	orig := *em
	for _, h := range b.hooks.publish {
		err := h.OnPublish(c, em)
		if al, ok := err.(acceptLater); ok {
			if !later || m.QoS != 1 {
				err = al.wait()
			} else {
				waits = append(waits, al.wait)
				continue
			}
		}
		if err != nil {
			for _, w := range waits {
				_ = w() // refused anyway: let the earlier hooks finish
			}
			return nil, nil, err
		}
	}
	var wait func() error
	switch len(waits) {
	case 0:
	case 1:
		wait = waits[0]
	default:
		wait = func() error {
			var first error
			for _, w := range waits {
				if err := w(); err != nil && first == nil {
					first = err
				}
			}
			return first
		}
	}
	if em.Topic != m.Topic {
		if topics.ValidateName([]byte(em.Topic)) != nil {
			if wait != nil {
				_ = wait()
			}
			return nil, nil, packets.TopicNameInvalid
		}
		if d := b.authorizePublish(c, em.Topic, em.QoS, em.Retain); !d.Allowed() {
			if wait != nil {
				_ = wait()
			}
			return nil, nil, refusal(d, packets.ImplementationSpecificError)
		}
	}
	em.QoS = min(em.QoS, 2)
	if untouched(em, &orig, m) {
		// Most hooks only look: route the message as it came, rather
		// than rebuild it (a copy of every field per message).
		if em.SharedGroups != nil {
			b.hooks.only.set(m, em.SharedGroups, em.SharedGroupsOnly)
		}
		return m, wait, nil
	}
	out := b.internal(em)
	out.Origin, out.Created = m.Origin, m.Created
	if !m.Expiry.IsZero() && em.Expiry == max(m.Expiry.Sub(now), 0) {
		out.Expiry = m.Expiry // unchanged: keep the exact instant
	}
	return out, wait, nil
}
