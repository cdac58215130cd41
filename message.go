package broker

import (
	"time"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/packets"
)

// Message is an application message: what a client or the host publishes,
// what hooks see and what in-process subscribers receive. The MQTT 5
// properties are plain fields; a zero value means the property is absent.
// A Message handed to a hook or a callback is a copy the receiver owns.
type Message struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool

	// PayloadUTF8 is the Payload Format Indicator: the payload is UTF-8
	// text (MQTT 5: subscribers may check it).
	PayloadUTF8 bool
	// Expiry is the Message Expiry Interval (whole seconds): an undelivered
	// message is dropped once it has waited this long. On delivery it is the
	// time left [MQTT-3.3.2-6].
	Expiry          time.Duration
	ContentType     string
	ResponseTopic   string
	CorrelationData []byte
	UserProperties  []UserProperty
	// SubscriptionIDs are the Subscription Identifiers of the subscriptions
	// a delivery matched (set by the broker on delivery; ignored on publish).
	SubscriptionIDs []uint32
	// SharedGroups, when not nil, are the only shared subscription groups
	// this publish is delivered to, each named as subscribed
	// ("$share/<group>/<filter>"); an empty, non-nil list skips every group.
	// Plain subscriptions are not affected. It is for hosts that route
	// messages between brokers (the cluster package, bridges), so that one
	// broker picks the member of a group for all of them and the group
	// still gets the message once [MQTT-4.8.2]: set it on the Message given
	// to Broker.PublishMessage, or in a PublishHook. Nil, the default,
	// delivers to every matching group; it is nil on delivery.
	SharedGroups []string
	// SharedGroupsOnly, with SharedGroups not nil, delivers the message to
	// those groups only: no plain subscription gets it, and a retained
	// message is not set or cleared by it. It is for a host that gives a
	// group a message whose other subscribers on this broker already got
	// it (the cluster package, when the node it first picked for the group
	// had lost its members). False on delivery.
	SharedGroupsOnly bool
	// RetainStored says the retained message (Retain set) is already in the
	// store shared with the broker that published it: Broker.PublishMessage
	// updates the in-memory retained index only (a set or, with an empty
	// payload, a clear) and does not write the store again. It is for
	// hosts that route messages between brokers on one store (the cluster
	// package): N brokers would otherwise write the same value N times.
	// Ignored elsewhere; false on delivery.
	RetainStored bool

	// ClientID is the publisher's client identifier; set by the broker. It
	// is "" for the host's own publishes, unless the host publishes on
	// behalf of a client: Broker.PublishMessage keeps a ClientID it is
	// given (No Local applies to it [MQTT-3.8.3-3]); elsewhere it is
	// ignored on publish.
	ClientID string
	// Received is when the broker received the message; set by the broker.
	Received time.Time
}

// UserProperty is one MQTT 5 User Property: a name and value pair that may
// repeat, kept in order [MQTT-3.3.2-18].
type UserProperty struct {
	Key, Value string
}

// internal returns the engine's form of m: copies of every field, with
// the expiry capped by the broker's limits.
func (b *Broker) internal(m *Message) *sessions.Message {
	im := &sessions.Message{Topic: m.Topic, QoS: m.QoS, Retain: m.Retain, Origin: m.ClientID, Created: m.Received}
	if im.Created.IsZero() {
		im.Created = b.now()
	}
	if len(m.Payload) > 0 {
		im.Payload = append([]byte(nil), m.Payload...)
	}
	p := new(packets.Properties)
	if m.PayloadUTF8 {
		p.PayloadFormat = 1
		p.Present.Add(packets.PropPayloadFormat)
	}
	if m.ContentType != "" {
		p.ContentType = []byte(m.ContentType)
		p.Present.Add(packets.PropContentType)
	}
	if m.ResponseTopic != "" {
		p.ResponseTopic = []byte(m.ResponseTopic)
		p.Present.Add(packets.PropResponseTopic)
	}
	if m.CorrelationData != nil {
		p.CorrelationData = append([]byte(nil), m.CorrelationData...)
		p.Present.Add(packets.PropCorrelationData)
	}
	if len(m.UserProperties) > 0 {
		p.User = make([]packets.UserProperty, len(m.UserProperties))
		for i, u := range m.UserProperties {
			p.User[i] = packets.UserProperty{Key: []byte(u.Key), Value: []byte(u.Value)}
		}
		p.Present.Add(packets.PropUserProperty)
	}
	if p.Present != 0 {
		im.Properties = p
	}
	if m.SharedGroups != nil {
		b.hooks.only.set(im, m.SharedGroups, m.SharedGroupsOnly)
	}
	secs := uint32(0)
	if m.Expiry > 0 {
		secs = uint32(min((m.Expiry+time.Second-1)/time.Second, 0xFFFFFFFF))
		secs = b.capExpiry(secs)
	} else {
		secs = b.limits.MaxMessageExpiry
	}
	if secs > 0 {
		im.Expiry = im.Created.Add(time.Duration(secs) * time.Second)
	}
	return im
}

// noProperties stands for the properties of a message that has none; it
// is only read.
var noProperties packets.Properties

// exported returns a Message the receiver owns, made of im as delivered
// now with the given subscription identifiers.
func exported(im *sessions.Message, subIDs []uint32, now time.Time) *Message {
	m := &Message{
		Topic:    im.Topic,
		QoS:      im.QoS,
		Retain:   im.Retain,
		ClientID: im.Origin,
		Received: im.Created,
	}
	if len(im.Payload) > 0 {
		m.Payload = append([]byte(nil), im.Payload...)
	}
	p := im.Properties
	if p == nil {
		p = &noProperties
	}
	m.PayloadUTF8 = p.Present.Has(packets.PropPayloadFormat) && p.PayloadFormat == 1
	m.ContentType = string(p.ContentType)
	m.ResponseTopic = string(p.ResponseTopic)
	if p.CorrelationData != nil {
		m.CorrelationData = append([]byte(nil), p.CorrelationData...)
	}
	if len(p.User) > 0 {
		m.UserProperties = make([]UserProperty, len(p.User))
		for i, u := range p.User {
			m.UserProperties[i] = UserProperty{Key: string(u.Key), Value: string(u.Value)}
		}
	}
	if !im.Expiry.IsZero() {
		m.Expiry = max(im.Expiry.Sub(now), 0)
	}
	if len(subIDs) > 0 {
		m.SubscriptionIDs = append([]uint32(nil), subIDs...)
	}
	return m
}
