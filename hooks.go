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
)

// ConnectHook is called after authentication, before CONNACK (and for
// each in-process Client). Returning a packets.ReasonCode refuses the
// connection with that code.
type ConnectHook interface {
	OnConnect(c *ClientInfo) error
}

// DisconnectHook is called when a connection ends; err is nil for a clean
// DISCONNECT.
type DisconnectHook interface {
	OnDisconnect(c *ClientInfo, err error)
}

// SubscribeHook is called for each topic filter of a SUBSCRIBE after
// authorization. It may lower sub.QoS; returning a packets.ReasonCode
// refuses the filter with that code.
type SubscribeHook interface {
	OnSubscribe(c *ClientInfo, sub *packets.Subscription) error
}

// PublishHook is called for each PUBLISH (and in-process publish) before it
// is routed. It may modify m; returning a packets.ReasonCode refuses the
// message (v5 clients get that code in PUBACK/PUBREC).
type PublishHook interface {
	OnPublish(c *ClientInfo, m *Message) error
}

// DropHook is called when a delivery to a client is dropped.
type DropHook interface {
	OnDropped(clientID string, m *Message, reason DropReason)
}

// hookSet holds the registered hooks by capability.
type hookSet struct {
	connect    []ConnectHook
	disconnect []DisconnectHook
	subscribe  []SubscribeHook
	publish    []PublishHook
	drop       []DropHook
}

func (h *hookSet) add(hooks ...any) {
	for _, x := range hooks {
		if v, ok := x.(ConnectHook); ok {
			h.connect = append(h.connect, v)
		}
		if v, ok := x.(DisconnectHook); ok {
			h.disconnect = append(h.disconnect, v)
		}
		if v, ok := x.(SubscribeHook); ok {
			h.subscribe = append(h.subscribe, v)
		}
		if v, ok := x.(PublishHook); ok {
			h.publish = append(h.publish, v)
		}
		if v, ok := x.(DropHook); ok {
			h.drop = append(h.drop, v)
		}
	}
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
