package unix

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/listeners/internal/accept"
)

// Listener accepts MQTT connections on a Unix domain socket.
type Listener struct {
	name string
	path string
	ln   *accept.Listener
}

// Option configures a Listener.
type Option func(*options)

type options struct {
	mode fs.FileMode
	log  *slog.Logger
}

// WithMode sets the socket file's permissions (for example 0o660: the
// owner and its group may connect). By default they follow the umask.
func WithMode(m fs.FileMode) Option { return func(o *options) { o.mode = m.Perm() } }

// WithLogger sets the logger for accept errors (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// New listens on the socket file at path, replacing a stale one; name
// defaults to "unix".
func New(name, path string, opts ...Option) (*Listener, error) {
	if name == "" {
		name = "unix"
	}
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if err := removeStale(path); err != nil {
		return nil, err
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, err
	}
	ln.SetUnlinkOnClose(true)
	if o.mode != 0 {
		if err := os.Chmod(path, o.mode); err != nil {
			_ = ln.Close()
			return nil, fmt.Errorf("unix: %w", err)
		}
	}
	return &Listener{name: name, path: path, ln: accept.New(ln, name, o.log)}, nil
}

// removeStale removes the socket file at path if no process answers on it.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("unix: %w", err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("unix: %s exists and is not a socket: not replacing it", path)
	}
	c, err := net.DialTimeout("unix", path, time.Second)
	if err == nil {
		_ = c.Close()
		return fmt.Errorf("unix: %s: %w: another process is listening on it", path, syscall.EADDRINUSE)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("unix: %s: checking whether it is stale: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("unix: removing the stale socket: %w", err)
	}
	return nil
}

// Name returns the listener's name.
func (l *Listener) Name() string { return l.name }

// Addr returns the socket's address (its path).
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Path returns the socket file's path.
func (l *Listener) Path() string { return l.path }

// Serve accepts connections until Close and returns nil then. Accept
// errors such as EMFILE are counted (AcceptErrors), logged and retried.
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

// Close stops accepting and removes the socket file.
func (l *Listener) Close() error { return l.ln.Close() }

var _ listeners.Listener = (*Listener)(nil)
