// Package listeners defines how connections reach the broker. A Listener
// accepts connections from somewhere (TCP, TLS, WebSocket, a custom
// transport) and hands each one, as a net.Conn, to a Handler: the broker.
// Anything that yields a net.Conn can be a listener.
package listeners

import "net"

// Handler serves one connection until it ends; the broker implements it.
// ServeConn blocks, so a listener calls it on a goroutine of its own.
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
