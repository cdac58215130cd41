// Package accept keeps a listener accepting through errors that pass: a
// process out of file descriptors (EMFILE, ENFILE), a connection aborted
// before it was accepted (ECONNABORTED), no buffer space (ENOBUFS). Every
// listener of package listeners accepts through it, so that none stops
// accepting for good because of a moment's shortage.
package accept

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Backoff bounds: the first retry waits MinDelay, each following one twice
// as long, up to MaxDelay (as net/http's Server does).
const (
	MinDelay = 5 * time.Millisecond
	MaxDelay = time.Second
)

// ListenTCP listens on a TCP address for MQTT connections. It turns off
// the TCP keep-alive probes Go enables on every accepted connection by
// default (one every 15 s once idle): MQTT's Keep Alive detects a silent
// client [MQTT-3.1.2-24], as in Mosquitto and EMQX, whose defaults have
// no TCP keep-alive either; and the probes' four setsockopt calls were a
// tenth of the system calls of an accepted connection. TCP_NODELAY needs
// no call: Go sets it on every TCP connection.
func ListenTCP(address string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(context.Background(), "tcp", address)
}

// Listener is a net.Listener whose Accept retries until Close.
type Listener struct {
	net.Listener
	name   string
	log    *slog.Logger
	errs   atomic.Uint64
	done   chan struct{}
	closed sync.Once
}

// New wraps ln; name and log identify the listener in the warnings logged
// for each failed accept (log nil: slog.Default()).
func New(ln net.Listener, name string, log *slog.Logger) *Listener {
	if log == nil {
		log = slog.Default()
	}
	return &Listener{Listener: ln, name: name, log: log, done: make(chan struct{})}
}

// Accept returns the next connection. Any error other than the listener
// being closed is counted, logged and retried after a backoff; Accept
// returns an error (net.ErrClosed) only once the listener is closed.
func (l *Listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			return c, nil
		}
		select {
		case <-l.done:
			return nil, net.ErrClosed
		default:
		}
		if errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		l.errs.Add(1)
		delay = min(max(2*delay, MinDelay), MaxDelay)
		l.log.Warn("accept failed, retrying", "listener", l.name, "err", err, "retry_in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-l.done:
			t.Stop()
			return nil, net.ErrClosed
		}
	}
}

// Close stops accepting: a pending Accept, or one waiting to retry,
// returns net.ErrClosed. Closing twice is not an error.
func (l *Listener) Close() error {
	var err error
	l.closed.Do(func() {
		close(l.done)
		err = l.Listener.Close()
	})
	return err
}

// Errors returns the number of failed accepts so far.
func (l *Listener) Errors() uint64 { return l.errs.Load() }
