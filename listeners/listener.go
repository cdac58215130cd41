// Package listeners defines how connections reach the broker. A Listener
// accepts connections from somewhere (TCP, TLS, WebSocket, a custom
// transport) and hands each one, as a net.Conn, to a Handler: the broker.
// Anything that yields a net.Conn can be a listener.
package listeners

import (
	"crypto/tls"
	"net"
)

// Handler serves one connection until it ends; the broker implements it.
// ServeConn blocks (the broker's returns early for an idle plain socket,
// which it then serves without that goroutine), so a listener calls it on
// a goroutine of its own.
type Handler interface {
	ServeConn(listener string, c net.Conn)
}

// Listener accepts connections and passes them to a Handler.
type Listener interface {
	// Name identifies the listener in logs, metrics and ClientInfo.
	Name() string
	// Addr is the address it listens on.
	Addr() net.Addr
	// Serve accepts connections until Close and calls h.ServeConn for each
	// on a new goroutine. It returns nil after Close.
	Serve(h Handler) error
	// Close stops accepting. Connections already handed over are the
	// handler's to close.
	Close() error
}

// TLSConn is implemented by connections that carry TLS (*tls.Conn does,
// and so should a WebSocket connection over TLS): the broker puts the
// handshake's state in ClientInfo.TLS, so that authenticators and
// authorizers can see the peer's certificates.
type TLSConn interface {
	ConnectionState() tls.ConnectionState
}

// IdentityConn is implemented by connections whose transport has already
// identified the peer, for example by a verified client certificate
// (Mosquitto's use_identity_as_username). When Identity returns a non-empty
// string the broker uses it as ClientInfo.Username in place of the
// CONNECT's user name, before the Authenticator runs.
type IdentityConn interface {
	Identity() string
}
