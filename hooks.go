package broker

import (
	"context"
	"crypto/tls"
	"net"

	"github.com/ternmq/broker/packets"
)

// ClientInfo describes a connected client to hooks, authenticators and
// authorizers. It must not be modified.
type ClientInfo struct {
	ID         string
	Username   string
	Listener   string          // name of the listener it came through ("local" for the in-process API)
	Remote     net.Addr        // nil for in-process clients
	Version    packets.Version // protocol level
	CleanStart bool
	// TLS is the state of the TLS handshake when the connection came over
	// TLS (listeners.TLSConn), nil otherwise. Its PeerCertificates are the
	// client's verified certificate chain under mTLS.
	TLS *tls.ConnectionState
	// Attributes are facts an Authenticator attached to the client (roles,
	// tenant, topics allowed by a token); the broker keeps them for the
	// life of the connection and passes them to authorizers and hooks.
	// The map must not be modified after authentication.
	Attributes map[string]any
}

// Credentials is what a CONNECT presents for authentication.
type Credentials struct {
	ClientInfo
	Password []byte // nil when the password flag is not set
	// AuthMethod and AuthData are the MQTT 5 enhanced authentication fields.
	AuthMethod string
	AuthData   []byte
}

// Authenticator decides whether a client may connect. Return nil to accept,
// or a packets.ReasonCode (BadUserNameOrPassword, NotAuthorized, Banned,
// ...) to refuse; any other error refuses with NotAuthorized.
type Authenticator interface {
	Authenticate(ctx context.Context, c *Credentials) error
}

// DropReason says why a delivery was dropped.
type DropReason string

// Drop reasons reported to DropHook and Metrics.
const (
	DropQueueFull   DropReason = "queue_full"   // the session's queue held MaxQueuedMessages
	DropExpired     DropReason = "expired"      // the message expiry passed while queued
	DropTooLarge    DropReason = "too_large"    // larger than the client's Maximum Packet Size [MQTT-3.1.2-25]
	DropOfflineQoS0 DropReason = "offline_qos0" // QoS 0 for a disconnected session is not queued
	DropMemory      DropReason = "memory"       // QoS 0 to a client with a backlog while the broker is over its memory budget
)

// Subscription is one topic filter of a SUBSCRIBE as hooks see it: a copy
// the hook may keep.
type Subscription struct {
	Filter            string // as subscribed, "$share/group/" prefix included
	QoS               byte   // requested; after OnSubscribe, the QoS granted
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte   // 0 send retained, 1 only if new, 2 never
	Identifier        uint32 // Subscription Identifier (v5); 0: none
}

// Every hook below is called under no broker lock, on the goroutine of the
// client it concerns (or the broker's own), so a hook may call back into
// the broker: publish, subscribe, disconnect a client. A hook that blocks
// blocks that client only. Values passed by pointer are the hook's for
// the duration of the call; ClientInfo must not be modified.

// ConnectHook is called after authentication, before CONNACK (and for
// each in-process Client). Returning a packets.ReasonCode refuses the
// connection with that code (any other error: NotAuthorized).
type ConnectHook interface {
	OnConnect(c *ClientInfo) error
}

// ConnectRefusedHook is told of every refused connection and why: code is
// the CONNACK reason (BadUserNameOrPassword or NotAuthorized for
// authentication, QuotaExceeded, ConnectionRateExceeded,
// ServerUnavailable for limits, ProtocolError, MalformedPacket,
// UnsupportedProtocolVersion, ClientIdentifierNotValid for the protocol,
// UseAnotherServer or ServerMoved for a redirect). c.ID may be empty when
// the CONNECT could not be read.
type ConnectRefusedHook interface {
	OnConnectRefused(c *ClientInfo, code packets.ReasonCode)
}

// DisconnectHook is called when an accepted connection ends; err is nil
// for a clean DISCONNECT.
type DisconnectHook interface {
	OnDisconnect(c *ClientInfo, err error)
}

// SubscribeHook is called for each topic filter of a SUBSCRIBE after
// authorization, before it takes effect. It may lower sub.QoS; returning a
// packets.ReasonCode refuses the filter with that code.
type SubscribeHook interface {
	OnSubscribe(c *ClientInfo, sub *Subscription) error
}

// SubscribedHook is told of each subscription after it took effect, with
// the QoS granted.
type SubscribedHook interface {
	OnSubscribed(c *ClientInfo, sub Subscription)
}

// UnsubscribedHook is told of each subscription removed by UNSUBSCRIBE (or
// by an in-process Client's cancel).
type UnsubscribedHook interface {
	OnUnsubscribed(c *ClientInfo, filter string)
}

// PublishHook is called for each PUBLISH (and in-process publish and will)
// before it is routed. It may modify m; a changed topic is validated and
// authorized again. Returning a packets.ReasonCode refuses the message (v5
// clients get that code in PUBACK/PUBREC).
type PublishHook interface {
	OnPublish(c *ClientInfo, m *Message) error
}

// DeliveredHook is told of each completed delivery to a client: a QoS 0
// message written to its connection, a QoS 1 or 2 message acknowledged
// (PUBACK, PUBCOMP), a message handed to an in-process callback. m.QoS is
// the QoS of the delivery.
type DeliveredHook interface {
	OnDelivered(c *ClientInfo, m *Message)
}

// DropHook is called when a delivery to a client is dropped (a slow
// consumer's full queue, an expired message, a packet too large).
type DropHook interface {
	OnDropped(clientID string, m *Message, reason DropReason)
}

// SessionHook is told of the life of sessions.
type SessionHook interface {
	// OnSessionCreated: a CONNECT started a new session.
	OnSessionCreated(c *ClientInfo)
	// OnSessionResumed: a CONNECT resumed an existing session (CONNACK
	// Session Present 1).
	OnSessionResumed(c *ClientInfo)
	// OnSessionExpired: a disconnected session reached its expiry and was
	// removed with its subscriptions and queue.
	OnSessionExpired(clientID string)
}

// WillHook is told of each will message the broker published.
type WillHook interface {
	OnWillPublished(c *ClientInfo, m *Message)
}

// RetainedHook is told of changes to the retained messages: m is the new
// retained message of topic, or nil when it was cleared.
type RetainedHook interface {
	OnRetained(topic string, m *Message)
}

// LifecycleHook is told when the broker has started (Start returned),
// begins to stop (Shutdown or Close called) and has stopped (every
// goroutine returned, storage closed).
type LifecycleHook interface {
	OnStarted()
	OnStopping()
	OnStopped()
}

// SysHook adds topics to each round of $SYS topics (WithSysInterval): the
// broker publishes every value SysValues returns as it does its own,
// retained in memory only. A topic that does not start with "$SYS/" or is
// not a valid topic name is skipped. SysValues is called on the $SYS
// goroutine under no lock, once per round: it should return values it
// gathered beforehand rather than wait for them.
type SysHook interface {
	SysValues() []SysValue
}

// SysValue is one $SYS topic and its value, from a SysHook.
type SysValue struct {
	Topic, Value string
}

// hookSet holds the registered hooks by capability.
type hookSet struct {
	connect      []ConnectHook
	refused      []ConnectRefusedHook
	disconnect   []DisconnectHook
	subscribe    []SubscribeHook
	subscribed   []SubscribedHook
	unsubscribed []UnsubscribedHook
	publish      []PublishHook
	delivered    []DeliveredHook
	drop         []DropHook
	session      []SessionHook
	will         []WillHook
	retained     []RetainedHook
	lifecycle    []LifecycleHook
	sys          []SysHook

	// only carries Message.SharedGroups from the host or a PublishHook to
	// routing (shared.go).
	only sharedOnly
}

// add registers x under every hook interface it implements, and reports
// whether it implements any.
func (h *hookSet) add(x any) bool {
	n := 0
	if v, ok := x.(ConnectHook); ok {
		h.connect = append(h.connect, v)
		n++
	}
	if v, ok := x.(ConnectRefusedHook); ok {
		h.refused = append(h.refused, v)
		n++
	}
	if v, ok := x.(DisconnectHook); ok {
		h.disconnect = append(h.disconnect, v)
		n++
	}
	if v, ok := x.(SubscribeHook); ok {
		h.subscribe = append(h.subscribe, v)
		n++
	}
	if v, ok := x.(SubscribedHook); ok {
		h.subscribed = append(h.subscribed, v)
		n++
	}
	if v, ok := x.(UnsubscribedHook); ok {
		h.unsubscribed = append(h.unsubscribed, v)
		n++
	}
	if v, ok := x.(PublishHook); ok {
		h.publish = append(h.publish, v)
		n++
	}
	if v, ok := x.(DeliveredHook); ok {
		h.delivered = append(h.delivered, v)
		n++
	}
	if v, ok := x.(DropHook); ok {
		h.drop = append(h.drop, v)
		n++
	}
	if v, ok := x.(SessionHook); ok {
		h.session = append(h.session, v)
		n++
	}
	if v, ok := x.(WillHook); ok {
		h.will = append(h.will, v)
		n++
	}
	if v, ok := x.(RetainedHook); ok {
		h.retained = append(h.retained, v)
		n++
	}
	if v, ok := x.(LifecycleHook); ok {
		h.lifecycle = append(h.lifecycle, v)
		n++
	}
	if v, ok := x.(SysHook); ok {
		h.sys = append(h.sys, v)
		n++
	}
	return n > 0
}

// Challenger is an optional capability of an Authenticator: MQTT 5
// enhanced authentication [MQTT-4.12]. When a CONNECT carries an
// Authentication Method, the broker calls BeginAuth instead of
// Authenticate and runs the AUTH exchange; a client may later
// re-authenticate with AUTH 0x19 and the same method [MQTT-4.12.1].
type Challenger interface {
	// BeginAuth starts an exchange for c (c.AuthMethod and c.AuthData are
	// from CONNECT or from the re-authentication AUTH). It returns
	// BadAuthenticationMethod (as a packets.ReasonCode) for a method it
	// does not implement.
	BeginAuth(ctx context.Context, c *Credentials) (AuthExchange, error)
}

// AuthenticatedUser is an optional capability of an AuthExchange: after a
// successful exchange, the broker uses Username as the client's
// ClientInfo.Username (the CONNECT may carry none).
type AuthenticatedUser interface {
	Username() string
}

// AuthExchange is one enhanced authentication conversation.
type AuthExchange interface {
	// Next takes the client's Authentication Data (from CONNECT or AUTH) and
	// returns the server's. done means the client is authenticated: the
	// data goes into CONNACK (or AUTH Success when re-authenticating);
	// otherwise it goes into AUTH Continue authentication (0x18) and the
	// client's answer comes to the next call. An error (a
	// packets.ReasonCode such as NotAuthorized or BadUserNameOrPassword)
	// ends the exchange and refuses the client.
	Next(ctx context.Context, data []byte) (reply []byte, done bool, err error)
}
