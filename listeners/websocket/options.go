package websocket

import (
	"crypto/tls"
	"log/slog"
	"time"

	tlslistener "github.com/ternmq/broker/listeners/tls"
)

// Defaults for the options.
const (
	DefaultPath = "/mqtt"
	// DefaultReadLimit is the largest WebSocket message accepted: the
	// broker's default maximum packet size (broker.DefaultLimits). Give
	// WithReadLimit the broker's Limits.MaxPacketSize when it differs.
	DefaultReadLimit = 1 << 20
	// DefaultHandshakeTimeout bounds the TLS handshake and the HTTP
	// upgrade request; it matches the broker's default connect timeout.
	DefaultHandshakeTimeout = 10 * time.Second
	// ReadBufferSize is each connection's read buffer. Frame headers are
	// parsed from it; larger payloads are read past it, straight into the
	// broker's buffer, so it can stay small.
	ReadBufferSize = 1024
	// WriteBufferSize is the size of the pooled write buffers; a larger
	// message goes out as several frames of one message.
	WriteBufferSize = 4096
)

// Option configures a Listener or a Handler.
type Option func(*options)

type options struct {
	name      string
	path      string
	origins   []string
	readLimit int64
	tls       *tls.Config
	timeout   time.Duration
	log       *slog.Logger
	identity  tlslistener.IdentityField
}

func newOptions(opts []Option) options {
	o := options{name: "websocket", path: DefaultPath, readLimit: DefaultReadLimit, timeout: DefaultHandshakeTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.Default()
	}
	return o
}

// WithName names the listener in ClientInfo.Listener, logs and metrics for
// a Handler (New takes the name as its first argument).
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithPath sets the URL path of the upgrade for New (default /mqtt);
// other paths answer 404. A Handler answers at whatever path it is mounted.
func WithPath(path string) Option { return func(o *options) { o.path = path } }

// WithAllowedOrigins restricts the Origin header of upgrade requests to
// these origins ("https://app.example.com", compared without regard to
// case; "*" allows any). A request without an Origin header (a client that
// is not a browser) is always allowed. Default: any origin.
func WithAllowedOrigins(origins ...string) Option {
	return func(o *options) { o.origins = origins }
}

// WithReadLimit sets the largest WebSocket message accepted, in bytes
// (default DefaultReadLimit); a larger one closes the connection with code
// 1009. Give it the broker's maximum packet size.
func WithReadLimit(n int) Option { return func(o *options) { o.readLimit = int64(n) } }

// WithTLS serves wss: TLS with cfg (which must hold a certificate, or
// GetCertificate or GetConfigForClient; tls.Reloader.Config makes one that
// follows Reload). Only for New: a Handler runs on the host's server.
func WithTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// WithHandshakeTimeout bounds the TLS handshake and the upgrade request
// (default DefaultHandshakeTimeout).
func WithHandshakeTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithLogger sets the logger for refused upgrades, failed handshakes and
// accept errors (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithIdentity makes each wss connection carry the identity of its verified
// client certificate, as the tls listener's WithIdentity does; a connection
// without a verified client certificate is refused (403).
func WithIdentity(field tlslistener.IdentityField) Option {
	return func(o *options) { o.identity = field }
}
