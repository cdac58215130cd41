// Package tcp is the MQTT-over-TCP listener.
package tcp

import (
	"errors"
	"net"
	"sync"
	"time"

	"github.com/ternmq/broker/listeners"
)

// Listener accepts MQTT connections on a TCP address.
type Listener struct {
	name string
	ln   net.Listener
	once sync.Once
}

// New listens on address ("127.0.0.1:1883", ":0" for a random port) and
// names the listener name ("tcp" when empty).
func New(name, address string) (*Listener, error) {
	if name == "" {
		name = "tcp"
	}
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, err
	}
	return &Listener{name: name, ln: ln}, nil
}

// Wrap makes a Listener of an existing net.Listener (for example one that
// already speaks TLS).
func Wrap(name string, ln net.Listener) *Listener { return &Listener{name: name, ln: ln} }

// Name returns the listener's name.
func (l *Listener) Name() string { return l.name }

// Addr returns the address it listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Serve accepts connections until Close.
func (l *Listener) Serve(h listeners.Handler) error {
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of file descriptors and similar: back off, as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(true)
		}
		go h.ServeConn(l.name, c)
	}
}

// Close stops accepting new connections.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() { err = l.ln.Close() })
	return err
}
