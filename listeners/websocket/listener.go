package websocket

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"

	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/listeners/internal/accept"
)

// Listener accepts MQTT over WebSocket on an address of its own.
type Listener struct {
	name string
	ln   *accept.Listener
	opts options
	srv  *http.Server
	wg   sync.WaitGroup // HTTP connections not yet upgraded or closed
	once sync.Once
}

// New listens on address and serves MQTT-over-WebSocket upgrades at the
// path WithPath sets (default /mqtt); with WithTLS it serves wss. name
// defaults to "websocket".
func New(name, address string, opts ...Option) (*Listener, error) {
	if name == "" {
		name = "websocket"
	}
	o := newOptions(append(opts, WithName(name)))
	if o.tls != nil && len(o.tls.Certificates) == 0 && o.tls.GetCertificate == nil && o.tls.GetConfigForClient == nil {
		return nil, errors.New("websocket: the TLS config has no certificate")
	}
	if o.identity != 0 && o.tls == nil {
		return nil, errors.New("websocket: WithIdentity needs WithTLS (identities come from client certificates)")
	}
	ln, err := accept.ListenTCP(address)
	if err != nil {
		return nil, err
	}
	l := &Listener{name: name, ln: accept.New(ln, name, o.log), opts: o}
	l.srv = &http.Server{
		ReadHeaderTimeout: o.timeout, // also bounds the TLS handshake
		IdleTimeout:       o.timeout,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(o.log.With("listener", name).Handler(), slog.LevelWarn),
		ConnState:         l.track,
	}
	return l, nil
}

// Name returns the listener's name.
func (l *Listener) Name() string { return l.name }

// Addr returns the address it listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Serve accepts connections until Close, upgrades them and hands each to
// h. Accept errors such as EMFILE are retried (AcceptErrors counts them).
// It returns nil after Close, once no connection is left in the HTTP stage.
func (l *Listener) Serve(h listeners.Handler) error {
	mux := http.NewServeMux()
	mux.Handle(l.opts.path, newUpgrader(h, l.opts))
	var ln net.Listener = l.ln
	if l.opts.tls != nil {
		ln = tls.NewListener(l.ln, l.opts.tls)
	}
	l.srv.Handler = mux
	err := l.srv.Serve(ln)
	l.wg.Wait()
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// track counts the connections in the HTTP server's hands: from accept
// until they are upgraded (hijacked) or closed.
func (l *Listener) track(_ net.Conn, s http.ConnState) {
	switch s {
	case http.StateNew:
		l.wg.Add(1)
	case http.StateHijacked, http.StateClosed:
		l.wg.Done()
	}
}

// AcceptErrors returns the number of failed accepts (EMFILE and the like)
// since New.
func (l *Listener) AcceptErrors() uint64 { return l.ln.Errors() }

// Close stops accepting and closes connections not yet upgraded.
// Connections already handed to the broker are the broker's to close.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		err = l.ln.Close()
		_ = l.srv.Close()
	})
	return err
}

var _ listeners.Listener = (*Listener)(nil)
