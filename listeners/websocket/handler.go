package websocket

import (
	"bufio"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gorilla/websocket"
	"github.com/ternmq/broker/listeners"
	tlslistener "github.com/ternmq/broker/listeners/tls"
)

// subprotocols are the WebSocket subprotocols of MQTT, in the order the
// server prefers them: "mqtt" for 3.1.1 and 5.0 [MQTT-6.0.0-4], "mqttv3.1"
// for MQTT 3.1 clients.
var subprotocols = []string{"mqtt", "mqttv3.1"}

// upgrader serves MQTT-over-WebSocket upgrades.
type upgrader struct {
	h    listeners.Handler
	opts options
	up   websocket.Upgrader
}

// Handler returns an http.Handler that upgrades requests to MQTT over
// WebSocket and hands each connection to h (the broker), named as
// WithName says ("websocket" by default). Mount it on a ServeMux at the
// path clients use. It serves wss when the host's server serves TLS: the
// connection then carries the TLS state (listeners.TLSConn).
func Handler(h listeners.Handler, opts ...Option) http.Handler {
	return newUpgrader(h, newOptions(opts))
}

func newUpgrader(h listeners.Handler, o options) *upgrader {
	u := &upgrader{h: h, opts: o}
	u.up = websocket.Upgrader{
		HandshakeTimeout: o.timeout,
		ReadBufferSize:   ReadBufferSize,
		WriteBufferSize:  WriteBufferSize,
		WriteBufferPool:  &sync.Pool{},
		Subprotocols:     subprotocols,
		CheckOrigin:      u.checkOrigin,
		Error: func(w http.ResponseWriter, r *http.Request, status int, reason error) {
			u.refuse(w, r, status, reason.Error())
		},
	}
	return u
}

// ServeHTTP upgrades r and serves the connection.
func (u *upgrader) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !offersMQTT(r) {
		u.refuse(w, r, http.StatusBadRequest, `the client must offer the WebSocket subprotocol "mqtt" [MQTT-6.0.0-3]`)
		return
	}
	var id string
	if u.opts.identity != 0 {
		if r.TLS != nil {
			id = tlslistener.Identity(*r.TLS, u.opts.identity)
		}
		if id == "" {
			u.refuse(w, r, http.StatusForbidden, "no verified client certificate (its identity is the user name)")
			return
		}
	}
	hw := &hijackWriter{ResponseWriter: w}
	ws, err := u.up.Upgrade(hw, r, nil)
	if err != nil {
		return // Upgrade answered the client, through u.up.Error when it could
	}
	hw.raw.owned = true
	ws.SetReadLimit(u.opts.readLimit)
	c := newConn(ws, hw.raw)
	var nc net.Conn = c
	switch {
	case id != "":
		nc = &identityConn{tlsConn: tlsConn{Conn: c, state: *r.TLS}, id: id}
	case r.TLS != nil:
		nc = &tlsConn{Conn: c, state: *r.TLS}
	}
	// Serve on a goroutine of its own and let the HTTP server's one end:
	// an idle connection then holds only a small stack, not the HTTP
	// server's request state.
	go u.h.ServeConn(u.opts.name, nc)
}

// offersMQTT reports whether the client offers an MQTT subprotocol.
func offersMQTT(r *http.Request) bool {
	for _, p := range websocket.Subprotocols(r) {
		if slices.Contains(subprotocols, p) {
			return true
		}
	}
	return false
}

// checkOrigin allows requests without an Origin header and those whose
// origin is allowed.
func (u *upgrader) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || len(u.opts.origins) == 0 {
		return true
	}
	for _, o := range u.opts.origins {
		if o == "*" || strings.EqualFold(o, origin) {
			return true
		}
	}
	return false
}

// refuse answers an upgrade request with an error and logs why.
func (u *upgrader) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	u.opts.log.Info("websocket upgrade refused", "listener", u.opts.name, "remote", r.RemoteAddr,
		"origin", r.Header.Get("Origin"), "status", status, "reason", reason)
	http.Error(w, reason, status)
}

// hijackWriter hands gorilla the hijacked connection wrapped in a rawConn,
// so that the Conn, not gorilla, owns the write deadline.
type hijackWriter struct {
	http.ResponseWriter
	raw *rawConn
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, http.ErrNotSupported
	}
	nc, brw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.raw = &rawConn{Conn: nc}
	return w.raw, brw, nil
}
