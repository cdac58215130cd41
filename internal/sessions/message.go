package sessions

import (
	"sync/atomic"
	"time"

	"github.com/ternmq/broker/packets"
)

// Message is an application message as routed by the broker. It is
// immutable once published to the router: every field is owned by the
// message (nothing aliases a read buffer) and shared by every session that
// queues it.
type Message struct {
	Topic      string
	Payload    []byte
	Properties *packets.Properties // nil: none (most messages; saves ~300 bytes each)
	Expiry     time.Time           // zero: never expires (MQTT 5 message expiry interval)
	Origin     string              // client identifier of the publisher, for No Local
	Created    time.Time

	// enc caches the encoded PUBLISH, one entry per variant used.
	enc atomic.Pointer[encoding]
	// size caches Size; 0 until first computed.
	size atomic.Int32

	QoS    byte // QoS of the PUBLISH that brought it
	Retain bool // retain flag as published
	// Once: routed to one subscriber and not retained, so its encoding is
	// used once and not worth caching. Set before it is delivered.
	Once bool
}

// encoding is one cached wire form of a message: a list, since a message
// is seldom delivered in more than one or two of its twelve variants
// (version x QoS x retain) and a list costs the message one pointer.
type encoding struct {
	variant uint8
	b       []byte
	next    *encoding
}

// sliceCost is what a []byte or string header costs besides its bytes, and
// propCost what each user property costs besides its key and value: the
// memory a message takes, not its wire size, is what byte limits bound
// (200,000 empty user properties are 1.2 MB on the wire, 10 MB in memory).
const (
	sliceCost = 24
	propCost  = 2 * sliceCost
)

// Size estimates the memory m holds: topic, payload, properties and the
// message itself, each header counted. Queues and in-flight windows count
// it against their byte limits. Computed once: m is immutable once routed.
func (m *Message) Size() int {
	if n := m.size.Load(); n != 0 {
		return int(n)
	}
	n := 256 + len(m.Topic) + len(m.Payload)
	if p := m.Properties; p != nil {
		n += 320 + len(p.ContentType) + len(p.ResponseTopic) + len(p.CorrelationData)
		for _, u := range p.User {
			n += propCost + len(u.Key) + len(u.Value)
		}
	}
	m.size.Store(int32(min(n, 1<<31-1)))
	return n
}

// sharedAllocMax is the largest topic plus payload NewMessage allocates in
// one piece: a topic kept after its message (a hook's map, the retained
// index's key) keeps at most this much payload alive with it.
const sharedAllocMax = 512

// NewMessage returns a message that owns copies of topic, payload and props.
func NewMessage(topic []byte, payload []byte, qos byte, retain bool, props *packets.Properties) *Message {
	m := &Message{QoS: qos, Retain: retain}
	if n := len(topic) + len(payload); len(topic) > 0 && len(payload) > 0 && n <= sharedAllocMax {
		// One allocation for both instead of two. The payload's capacity
		// ends with it and the topic is before it: appending to the
		// payload cannot write the topic. Nothing writes either.
		b := make([]byte, n)
		copy(b, topic)
		copy(b[len(topic):], payload)
		m.Topic = unsafeString(b[:len(topic)])
		m.Payload = b[len(topic):n:n]
	} else {
		// Apart: whoever keeps the topic (a hook's map, an index) must not
		// keep a large payload alive with it.
		m.Topic = string(topic)
		if len(payload) > 0 {
			m.Payload = append([]byte(nil), payload...)
		}
	}
	if props != nil {
		p := props.Clone()
		p.Present.Del(packets.PropTopicAlias)
		p.TopicAlias = 0
		p.SubscriptionIDs = nil
		p.Present.Del(packets.PropSubscriptionID)
		if p.Present != 0 || len(p.User) > 0 {
			m.Properties = &p
		}
	}
	return m
}

// Expired reports whether the message expiry has passed at now.
func (m *Message) Expired(now time.Time) bool {
	return !m.Expiry.IsZero() && !now.Before(m.Expiry)
}

// Cacheable reports whether one encoding of this message can serve every
// subscriber of a variant: not when the remaining expiry must be computed per
// delivery, nor when there is one delivery (Once): encoded straight into the
// writer's buffer, it costs no allocation.
func (m *Message) Cacheable() bool { return m.Expiry.IsZero() && !m.Once }

// Publish fills p (after Reset) with the message as delivered at qos and
// with the retain flag retain. p aliases m's fields: do not modify them.
func (m *Message) Publish(p *packets.Publish, qos byte, retain bool, now time.Time) {
	p.Reset()
	p.QoS = qos
	p.Retain = retain
	p.Topic = unsafeBytes(m.Topic)
	p.Payload = m.Payload
	if m.Properties != nil {
		p.Properties = *m.Properties
	}
	if !m.Expiry.IsZero() {
		left := m.Expiry.Sub(now)
		secs := uint32((left + time.Second - 1) / time.Second)
		p.Properties.MessageExpiry = secs
		p.Properties.Present.Add(packets.PropMessageExpiry)
	}
}

// Encoded returns the PUBLISH wire form for the variant (version, qos,
// retain), encoded on first use and then shared. For qos > 0 the packet
// identifier is a placeholder that the caller patches with PatchPacketID.
// The returned slice must not be modified.
func (m *Message) Encoded(v packets.Version, qos byte, retain bool) ([]byte, error) {
	variant := qos << 2
	if v == packets.V5 {
		variant |= 1
	}
	if retain {
		variant |= 2
	}
	head := m.enc.Load()
	for e := head; e != nil; e = e.next {
		if e.variant == variant {
			return e.b, nil
		}
	}
	var p packets.Publish
	m.Publish(&p, qos, retain, time.Time{})
	if qos > 0 {
		p.PacketID = 0xFFFF
	}
	b, err := p.Append(nil, v)
	if err != nil {
		return nil, err
	}
	e := &encoding{variant: variant, b: b}
	for {
		e.next = head
		if m.enc.CompareAndSwap(head, e) {
			return b, nil
		}
		// Another writer added a variant meanwhile: it may be this one.
		head = m.enc.Load()
		for o := head; o != nil; o = o.next {
			if o.variant == variant {
				return o.b, nil
			}
		}
	}
}

// PatchPublish sets the packet identifier and the DUP flag of an encoded
// QoS>0 PUBLISH b in place (b must be the caller's own copy).
func PatchPublish(b []byte, id uint16, dup bool) {
	if dup {
		b[0] |= 0x08
	}
	i := 1
	for b[i]&0x80 != 0 {
		i++
	}
	i++
	tl := int(b[i])<<8 | int(b[i+1])
	i += 2 + tl
	b[i] = byte(id >> 8)
	b[i+1] = byte(id)
}
