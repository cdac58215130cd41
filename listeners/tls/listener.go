package tls

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/listeners/internal/accept"
)

// DefaultHandshakeTimeout bounds a TLS handshake unless WithHandshakeTimeout
// says otherwise; it matches the broker's default connect timeout.
const DefaultHandshakeTimeout = 10 * time.Second

// ErrNotReloadable is returned by Reload on a listener built by New from a
// *tls.Config rather than from files.
var ErrNotReloadable = errors.New("tls: listener was built from a *tls.Config, not from files: nothing to reload")

// Listener accepts MQTT connections over TLS.
type Listener struct {
	name     string
	ln       *accept.Listener
	cfg      *tls.Config
	reloader *Reloader // nil when built by New
	opts     options
	ctx      context.Context // cancelled by Close: interrupts handshakes
	cancel   context.CancelFunc
	wg       sync.WaitGroup // handshakes in progress
}

// Option configures a Listener.
type Option func(*options)

type options struct {
	log      *slog.Logger
	timeout  time.Duration
	identity IdentityField
}

// WithLogger sets the logger for failed handshakes and accept errors
// (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithHandshakeTimeout bounds each TLS handshake (default
// DefaultHandshakeTimeout); give it the broker's connect timeout.
func WithHandshakeTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithIdentity makes each connection carry the identity of its verified
// client certificate (listeners.IdentityConn): its Subject CN or its first
// Subject Alternative Name. The broker then uses it as the user name, in
// place of the CONNECT's. A connection without a verified client
// certificate is refused, since nothing would vouch for its user name:
// configure client authentication (Files.ClientAuth, or ClientAuth and
// ClientCAs in the *tls.Config).
func WithIdentity(field IdentityField) Option { return func(o *options) { o.identity = field } }

// New listens on address and serves TLS with cfg, which must hold a
// certificate (Certificates, GetCertificate or GetConfigForClient). cfg is
// cloned; name defaults to "tls".
func New(name, address string, cfg *tls.Config, opts ...Option) (*Listener, error) {
	if cfg == nil || (len(cfg.Certificates) == 0 && cfg.GetCertificate == nil && cfg.GetConfigForClient == nil) {
		return nil, errors.New("tls: the config has no certificate")
	}
	if cfg.GetConfigForClient == nil && cfg.ClientAuth < tls.VerifyClientCertIfGiven && identityOn(opts) {
		return nil, errIdentityUnverified
	}
	ln, err := accept.ListenTCP(address)
	if err != nil {
		return nil, err
	}
	return newListener(name, ln, cfg.Clone(), nil, opts), nil
}

// NewFromFiles listens on address and serves TLS with the certificate,
// key and client CA of f, read now and again on each Reload.
func NewFromFiles(name, address string, f Files, opts ...Option) (*Listener, error) {
	if f.ClientAuth < tls.VerifyClientCertIfGiven && identityOn(opts) {
		return nil, errIdentityUnverified
	}
	r, err := NewReloader(f)
	if err != nil {
		return nil, err
	}
	ln, err := accept.ListenTCP(address)
	if err != nil {
		return nil, err
	}
	return newListener(name, ln, r.Config(), r, opts), nil
}

// errIdentityUnverified refuses WithIdentity on a listener that does not
// verify client certificates: every client would be refused.
var errIdentityUnverified = errors.New("tls: WithIdentity needs verified client certificates (ClientAuth VerifyClientCertIfGiven or RequireAndVerifyClientCert)")

// identityOn reports whether opts include WithIdentity.
func identityOn(opts []Option) bool {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return o.identity != 0
}

func newListener(name string, ln net.Listener, cfg *tls.Config, r *Reloader, opts []Option) *Listener {
	if name == "" {
		name = "tls"
	}
	o := options{timeout: DefaultHandshakeTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Listener{
		name:     name,
		ln:       accept.New(ln, name, o.log),
		cfg:      cfg,
		reloader: r,
		opts:     o,
		ctx:      ctx,
		cancel:   cancel,
	}
}

// Name returns the listener's name.
func (l *Listener) Name() string { return l.name }

// Addr returns the address it listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Serve accepts connections until Close, completes each one's TLS
// handshake on a goroutine of its own and hands it to h. Accept errors
// such as EMFILE are retried (AcceptErrors counts them). It returns nil
// after Close, once every handshake in progress has ended.
func (l *Listener) Serve(h listeners.Handler) error {
	defer l.wg.Wait()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		l.wg.Add(1)
		go func() {
			conn := l.handshake(c)
			l.wg.Done()
			if conn != nil {
				h.ServeConn(l.name, conn)
			}
		}()
	}
}

// handshake runs the server side of the TLS handshake on c under the
// timeout. It returns the connection to serve, or nil (c closed, the
// reason logged).
func (l *Listener) handshake(c net.Conn) net.Conn {
	tc := tls.Server(c, l.cfg)
	ctx, cancel := context.WithTimeout(l.ctx, l.opts.timeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		_ = c.Close()
		if l.ctx.Err() != nil {
			return nil // closing
		}
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no handshake within %v", l.opts.timeout)
		}
		l.opts.log.Warn("tls handshake failed", "listener", l.name, "remote", c.RemoteAddr().String(), "err", err)
		return nil
	}
	if l.opts.identity == 0 {
		return tc
	}
	st := tc.ConnectionState()
	id := Identity(st, l.opts.identity)
	if id == "" {
		_ = tc.Close()
		reason := "no verified client certificate"
		if len(st.VerifiedChains) > 0 {
			reason = "the client certificate has no " + l.opts.identity.String()
		}
		l.opts.log.Warn("tls client refused: its identity is the user name", "listener", l.name, "remote", c.RemoteAddr().String(), "err", reason)
		return nil
	}
	return &identityConn{Conn: tc, id: id}
}

// Reload re-reads the certificate, key and client CA files (NewFromFiles):
// handshakes from now on use them; connections already established are
// not touched. On error the files in use stay in use.
func (l *Listener) Reload() error {
	if l.reloader == nil {
		return ErrNotReloadable
	}
	return l.reloader.Reload()
}

// AcceptErrors returns the number of failed accepts (EMFILE and the like)
// since the listener was made.
func (l *Listener) AcceptErrors() uint64 { return l.ln.Errors() }

// Close stops accepting and interrupts handshakes in progress.
// Connections already handed to the broker are the broker's to close.
func (l *Listener) Close() error {
	l.cancel()
	return l.ln.Close()
}

// identityConn is a TLS connection whose verified client certificate names
// the user (listeners.IdentityConn).
type identityConn struct {
	*tls.Conn
	id string
}

// Identity returns the client certificate's Subject CN or first SAN.
func (c *identityConn) Identity() string { return c.id }

var (
	_ listeners.Listener     = (*Listener)(nil)
	_ listeners.TLSConn      = (*identityConn)(nil)
	_ listeners.IdentityConn = (*identityConn)(nil)
)
