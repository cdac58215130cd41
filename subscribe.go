package broker

import (
	"slices"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/topics"
)

// handleSubscribe handles SUBSCRIBE: one reason code per filter, SUBACK,
// then the retained messages of the new subscriptions.
func (c *conn) handleSubscribe(fh packets.FixedHeader, body []byte) error {
	var pk packets.Subscribe
	if err := pk.Decode(fh.Flags, body, c.version); err != nil {
		return err
	}
	var subID uint32
	if len(pk.Properties.SubscriptionIDs) > 0 {
		if c.b.feat.noSubIDs {
			return &packets.Error{Packet: packets.SUBSCRIBE, Field: "subscription identifier", Reason: "not available", Code: packets.SubscriptionIdentifiersNotSupported}
		}
		subID = pk.Properties.SubscriptionIDs[0]
	}
	ack := packets.Suback{PacketID: pk.PacketID, ReasonCodes: make([]packets.ReasonCode, len(pk.Subscriptions))}
	var retained []*retainedBacklog
	for i := range pk.Subscriptions {
		sub := &pk.Subscriptions[i]
		code, rs, err := c.subscribe(sub, subID)
		if err != nil {
			return err
		}
		ack.ReasonCodes[i] = code
		if rs != nil {
			retained = append(retained, rs)
		}
	}
	c.send(&ack) // SUBACK before the retained messages it enables [MQTT-3.8.4-1]
	c.sess.addBacklog(retained)
	if len(c.b.hooks.subscribed) > 0 {
		for i, code := range ack.ReasonCodes {
			if code.IsError() {
				continue
			}
			ps := &pk.Subscriptions[i]
			hs := Subscription{Filter: string(ps.Filter), QoS: byte(code), NoLocal: ps.NoLocal, RetainAsPublished: ps.RetainAsPublished, RetainHandling: ps.RetainHandling, Identifier: subID}
			for _, h := range c.b.hooks.subscribed {
				h.OnSubscribed(&c.info, hs)
			}
		}
	}
	return nil
}

// subscribe applies one filter of a SUBSCRIBE and returns its reason code
// and the retained messages to send for it.
func (c *conn) subscribe(sub *packets.Subscription, subID uint32) (packets.ReasonCode, *retainedBacklog, error) {
	b := c.b
	failure := packets.UnspecifiedError // 0x80 in 3.1.1 [MQTT-3.9.3]
	if err := topics.ValidateFilter(sub.Filter); err != nil {
		if !v5(c.version) {
			// 3.1.x has no code for it: a protocol violation closes the
			// connection [MQTT-4.8.0-1 (3.1.1)], as Mosquitto does.
			return 0, nil, &packets.Error{Packet: packets.SUBSCRIBE, Field: "topic filter", Reason: err.Error(), Code: packets.TopicFilterInvalid}
		}
		return packets.TopicFilterInvalid, nil, nil
	}
	filter := string(sub.Filter)
	_, inner, shared := topics.ParseShared(filter)
	if shared && b.feat.noShared {
		if v5(c.version) {
			failure = packets.SharedSubscriptionsNotSupported
		}
		return failure, nil, nil
	}
	if b.feat.noWildcards && topics.IsWildcard(inner) {
		if v5(c.version) {
			failure = packets.WildcardSubscriptionsNotSupported
		}
		return failure, nil, nil
	}
	if shared && sub.NoLocal && v5(c.version) {
		// No Local on a shared subscription is a protocol error [MQTT-3.8.3-4]:
		// refuse the filter rather than the connection, as Mosquitto does.
		return packets.ProtocolError, nil, nil
	}
	d := b.authorize(&c.info, Access{Action: ActionSubscribe, Topic: filter, QoS: sub.QoS})
	if !d.Allowed() {
		if v5(c.version) {
			failure = refusal(d, packets.UnspecifiedError)
		}
		return failure, nil, nil
	}
	sub.QoS = d.grant(sub.QoS)
	if len(b.hooks.subscribe) > 0 {
		// The hooks get a copy: sub points into the read buffer.
		hs := Subscription{Filter: filter, QoS: sub.QoS, NoLocal: sub.NoLocal, RetainAsPublished: sub.RetainAsPublished, RetainHandling: sub.RetainHandling, Identifier: subID}
		for _, h := range b.hooks.subscribe {
			if err := h.OnSubscribe(&c.info, &hs); err != nil {
				if v5(c.version) {
					failure = codeOr(err, packets.NotAuthorized)
				}
				return failure, nil, nil
			}
		}
		sub.QoS = min(sub.QoS, hs.QoS) // a hook may only lower it
	}
	if max := b.limits.MaxSubscriptions; max > 0 && c.sess.subCount() >= max && !c.sess.hasSub(filter) {
		if v5(c.version) {
			failure = packets.QuotaExceeded
		}
		return failure, nil, nil
	}
	so := subscription{qos: min(sub.QoS, b.feat.maxQoS), noLocal: sub.NoLocal, rap: sub.RetainAsPublished, rh: sub.RetainHandling, id: subID}
	if !v5(c.version) {
		so.noLocal, so.rap, so.rh, so.id = false, false, 0, 0
	}
	existed := c.sess.subscribe(filter, so)
	b.persistSubscription(c.sess, filter, so)
	code := packets.ReasonCode(so.qos)
	// Retained messages: not for shared subscriptions (MQTT 5.0 section 4.8.2), and per
	// Retain Handling [MQTT-3.3.1-9, 3.3.1-10, 3.3.1-11].
	if shared || so.rh == 2 || (so.rh == 1 && existed) {
		return code, nil, nil
	}
	// Collected first, authorized after: the read check runs under no lock.
	msgs := b.retainedMatching(inner)
	msgs = slices.DeleteFunc(msgs, func(m *sessions.Message) bool { return !b.canRead(&c.info, m.Topic, m.QoS) })
	if len(msgs) == 0 {
		return code, nil, nil
	}
	rb := &retainedBacklog{msgs: msgs, qos: so.qos}
	if so.id != 0 {
		rb.subIDs = []uint32{so.id}
	}
	return code, rb, nil
}

// handleUnsubscribe handles UNSUBSCRIBE and answers UNSUBACK.
func (c *conn) handleUnsubscribe(fh packets.FixedHeader, body []byte) error {
	var pk packets.Unsubscribe
	if err := pk.Decode(fh.Flags, body, c.version); err != nil {
		return err
	}
	ack := packets.Unsuback{PacketID: pk.PacketID}
	if v5(c.version) {
		ack.ReasonCodes = make([]packets.ReasonCode, len(pk.Filters))
	}
	for i, f := range pk.Filters {
		filter := string(f)
		ok := c.sess.unsubscribe(filter)
		if ok {
			c.b.forgetSubscription(c.sess, filter)
			for _, h := range c.b.hooks.unsubscribed {
				h.OnUnsubscribed(&c.info, filter)
			}
		}
		if v5(c.version) && !ok {
			ack.ReasonCodes[i] = packets.NoSubscriptionExisted
		}
	}
	c.send(&ack) // [MQTT-3.10.4-4]
	return nil
}
