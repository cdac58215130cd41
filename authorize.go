package broker

import (
	"context"
	"strings"
)

// Action is what a client asks to do with a topic.
type Action uint8

// Actions an Authorizer is asked about.
const (
	// ActionPublish: publish to Access.Topic (a topic name), on every
	// PUBLISH, will and in-process publish.
	ActionPublish Action = iota + 1
	// ActionSubscribe: subscribe to Access.Topic (a topic filter, with its
	// "$share/group/" prefix when shared), for each filter of a SUBSCRIBE.
	ActionSubscribe
	// ActionRead: receive a message published to Access.Topic, before each
	// delivery (live or retained), as Mosquitto's read ACLs do.
	ActionRead
)

// String returns "publish", "subscribe" or "read".
func (a Action) String() string {
	switch a {
	case ActionPublish:
		return "publish"
	case ActionSubscribe:
		return "subscribe"
	case ActionRead:
		return "read"
	}
	return "unknown"
}

// Access is one request put to an Authorizer.
type Access struct {
	Action Action
	Topic  string // topic name, or topic filter for ActionSubscribe
	QoS    byte   // requested QoS (Publish, Subscribe) or QoS of the message (Read)
	Retain bool   // the PUBLISH has the retain flag (ActionPublish)
}

// Decision is an Authorizer's answer. Build one with Allow, AllowQoS, Deny
// or Failed; the zero value denies.
type Decision struct {
	allowed bool
	capped  bool
	maxQoS  byte
	err     error
}

// Allow grants the request as asked.
func Allow() Decision { return Decision{allowed: true} }

// AllowQoS grants a subscription at most at QoS q (the SUBACK carries the
// lower QoS [MQTT-3.9.3-1]); for other actions it is the same as Allow.
func AllowQoS(q byte) Decision { return Decision{allowed: true, capped: true, maxQoS: min(q, 2)} }

// Deny refuses the request: v5 clients get Not authorized (0x87); 3.1.1
// subscribers get the SUBACK failure 0x80; a 3.1.x publish is acknowledged
// and dropped, as Mosquitto does.
func Deny() Decision { return Decision{} }

// Failed says the decision could not be made, for example because the
// backend holding the ACL is unreachable. It is not a deny: v5 clients get
// Unspecified error (0x80) on SUBACK and Implementation specific error
// (0x83) on PUBACK, the failure is counted in Stats and logged, and the
// request is refused.
func Failed(err error) Decision { return Decision{err: err} }

// Allowed reports whether the request is granted.
func (d Decision) Allowed() bool { return d.allowed && d.err == nil }

// Err is the failure of a Decision made by Failed, nil otherwise.
func (d Decision) Err() error { return d.err }

// grant is the QoS granted for a subscription requested at qos.
func (d Decision) grant(qos byte) byte {
	if d.capped {
		return min(qos, d.maxQoS)
	}
	return qos
}

// Authorizer decides what a connected client may do. The broker asks it on
// every PUBLISH, on every filter of a SUBSCRIBE and before every delivery
// (ActionRead); it never holds a lock of its own while it asks, so an
// Authorizer may call back into the broker. Read checks are on the
// delivery hot path: they must be cheap.
//
// For the easy case implement TopicAuthorizer and pass it through
// SimpleAuthorizer.
type Authorizer interface {
	Authorize(ctx context.Context, c *ClientInfo, a Access) Decision
}

// TopicAuthorizer is the easy form of an Authorizer: two yes/no questions.
// An implementation that also has CanRead(c *ClientInfo, topic string)
// bool is asked before each delivery as well.
type TopicAuthorizer interface {
	CanPublish(c *ClientInfo, topic string) bool
	CanSubscribe(c *ClientInfo, filter string) bool
}

// SimpleAuthorizer adapts a TopicAuthorizer to an Authorizer.
func SimpleAuthorizer(t TopicAuthorizer) Authorizer {
	s := simpleAuthorizer{t: t}
	s.read, _ = t.(interface {
		CanRead(c *ClientInfo, topic string) bool
	})
	return s
}

type simpleAuthorizer struct {
	t    TopicAuthorizer
	read interface {
		CanRead(c *ClientInfo, topic string) bool
	}
}

func (s simpleAuthorizer) Authorize(_ context.Context, c *ClientInfo, a Access) Decision {
	ok := true
	switch a.Action {
	case ActionPublish:
		ok = s.t.CanPublish(c, a.Topic)
	case ActionSubscribe:
		ok = s.t.CanSubscribe(c, a.Topic)
	case ActionRead:
		ok = s.read == nil || s.read.CanRead(c, a.Topic)
	}
	if ok {
		return Allow()
	}
	return Deny()
}

// authorize asks the configured Authorizer (everything is allowed without
// one) and counts failures. Callers hold no lock.
func (b *Broker) authorize(c *ClientInfo, a Access) Decision {
	if b.authz == nil || c == &b.host.info {
		return Allow() // the host application is trusted
	}
	d := b.authz.Authorize(context.Background(), c, a)
	if d.err != nil {
		b.stats.authzErrors.Add(1)
		b.log.Warn("authorization failed", "client", c.ID, "action", a.Action.String(), "topic", a.Topic, "err", d.err)
	}
	return d
}

// canRead is the read check of a delivery to c.
func (b *Broker) canRead(c *ClientInfo, topic string, qos byte) bool {
	if b.authz == nil {
		return true
	}
	return b.authorize(c, Access{Action: ActionRead, Topic: topic, QoS: qos}).Allowed()
}

// authorizePublish is the publish check. Topics under $SYS are the
// broker's own: without an Authorizer that explicitly allows it, a client
// may not publish there, as in Mosquitto.
func (b *Broker) authorizePublish(c *ClientInfo, topic string, qos byte, retain bool) Decision {
	if b.authz == nil && strings.HasPrefix(topic, "$SYS") && c != &b.host.info {
		return Deny()
	}
	return b.authorize(c, Access{Action: ActionPublish, Topic: topic, QoS: qos, Retain: retain})
}
