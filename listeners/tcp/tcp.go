package tcp

import (
	"errors"
	"log/slog"
	"net"

	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/listeners/internal/accept"
)

// Listener accepts MQTT connections on a TCP address.
type Listener struct {
	name string
	ln   *accept.Listener
}

// Option configures a Listener.
type Option func(*options)

type options struct{ log *slog.Logger }

// WithLogger sets the logger for accept errors (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// New listens on address ("127.0.0.1:1883", ":0" for a random port) and
// names the listener name ("tcp" when empty).
func New(name, address string, opts ...Option) (*Listener, error) {
	ln, err := accept.ListenTCP(address)
	if err != nil {
		return nil, err
	}
	return Wrap(name, ln, opts...), nil
}

// Wrap makes a Listener of an existing net.Listener (for example one that
// already speaks TLS); name defaults to "tcp".
func Wrap(name string, ln net.Listener, opts ...Option) *Listener {
	if name == "" {
		name = "tcp"
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return &Listener{name: name, ln: accept.New(ln, name, o.log)}
}

// Name returns the listener's name.
func (l *Listener) Name() string { return l.name }

// Addr returns the address it listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Serve accepts connections until Close and returns nil then. Accept
// errors such as EMFILE (out of file descriptors) do not end it: they are
// counted (AcceptErrors), logged and retried after a backoff.
func (l *Listener) Serve(h listeners.Handler) error {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		go h.ServeConn(l.name, c)
	}
}

// AcceptErrors returns the number of failed accepts since New.
func (l *Listener) AcceptErrors() uint64 { return l.ln.Errors() }

// Close stops accepting new connections.
func (l *Listener) Close() error { return l.ln.Close() }

var _ listeners.Listener = (*Listener)(nil)
