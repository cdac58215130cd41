package coap

import (
	"log/slog"
	"time"

	piondtls "github.com/pion/dtls/v3"
)

// Settings are the listener's tunables that have defaults.
type Settings struct {
	// InactivityTimeout: a peer that sent nothing for this long is
	// forgotten if it observes nothing, and pinged (CoAP ping) if it does.
	InactivityTimeout time.Duration
	// AckTimeout and MaxRetransmit are RFC 7252 §4.8's ACK_TIMEOUT and
	// MAX_RETRANSMIT, for the confirmable messages the listener sends
	// (notifications at QoS 1 and 2, pings).
	AckTimeout    time.Duration
	MaxRetransmit int
	// MaxPayload bounds one request's payload once reassembled from its
	// blocks (RFC 7959); larger ones get 4.13.
	MaxPayload int
	// BlockSize is the largest block the listener sends or accepts.
	BlockSize int
	// MaxObservers bounds the observations of one peer (RFC 7641); beyond,
	// a GET with Observe is answered as a plain GET.
	MaxObservers int
}

// DefaultSettings returns the one table of the listener's defaults;
// mqttd's configuration and the README read them from here.
func DefaultSettings() Settings {
	return Settings{
		InactivityTimeout: 60 * time.Second,
		AckTimeout:        2 * time.Second,
		MaxRetransmit:     4,
		MaxPayload:        64 * 1024,
		BlockSize:         1024,
		MaxObservers:      16,
	}
}

// Option configures a Listener.
type Option func(*config)

// config is the listener's configuration once the options are applied.
type config struct {
	username      string
	password      []byte
	hasPassword   bool
	queryCreds    bool
	inactivity    time.Duration
	ackTimeout    time.Duration
	maxRetransmit int
	maxPayload    int
	blockSize     int
	maxObservers  int
	dtls          []piondtls.ServerOption
	log           *slog.Logger
}

func newConfig(opts []Option) config {
	c := config{
		inactivity:    DefaultSettings().InactivityTimeout,
		ackTimeout:    DefaultSettings().AckTimeout,
		maxRetransmit: DefaultSettings().MaxRetransmit,
		maxPayload:    DefaultSettings().MaxPayload,
		blockSize:     DefaultSettings().BlockSize,
		maxObservers:  DefaultSettings().MaxObservers,
		log:           slog.Default(),
	}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// WithIdentity sets the credentials every request of this listener is
// authenticated with (CoAP has no user name): the broker's Authenticator
// sees username and password as from an MQTT CONNECT, and the Authorizer
// then applies that user's ACL. Without it (and without credentials in the
// query) requests are anonymous: an empty user name and no password.
func WithIdentity(username string, password []byte) Option {
	return func(c *config) {
		c.username = username
		c.password = append([]byte(nil), password...)
		c.hasPassword = password != nil
	}
}

// WithQueryCredentials lets a request carry its own credentials in the
// query: ?u=USER&p=PASSWORD, or ?t=TOKEN (the token arrives as the password
// with an empty user name, as an HTTP bearer token does, so a JWT
// authenticator works unchanged). They replace the listener's identity for
// that request. Without DTLS they cross the network in clear text and may
// end up in proxies' logs: see the README.
func WithQueryCredentials() Option { return func(c *config) { c.queryCreds = true } }

// WithInactivityTimeout sets how long a silent peer is kept (default
// DefaultSettings().InactivityTimeout). A peer without observations is forgotten
// (its broker client closed); a peer with observations is pinged, and
// dropped only if the ping goes unanswered, so observers outlive the
// timeout for as long as they answer.
func WithInactivityTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.inactivity = d
		}
	}
}

// WithTransmission sets ACK_TIMEOUT and MAX_RETRANSMIT (RFC 7252 §4.8) for
// the confirmable messages the listener sends. A peer that does not
// acknowledge a confirmable notification or ping within MAX_TRANSMIT_WAIT
// (ackTimeout × (2^(maxRetransmit+1) − 1) × 1.5) is dropped.
func WithTransmission(ackTimeout time.Duration, maxRetransmit int) Option {
	return func(c *config) {
		if ackTimeout > 0 {
			c.ackTimeout = ackTimeout
		}
		if maxRetransmit >= 0 {
			c.maxRetransmit = maxRetransmit
		}
	}
}

// WithMaxPayload bounds a request's reassembled payload (default
// DefaultSettings().MaxPayload). A peer can hold at most two transfers of this size
// in reassembly at a time.
func WithMaxPayload(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxPayload = n
		}
	}
}

// WithBlockSize sets the largest block of a block-wise transfer (RFC 7959):
// a power of two from 16 to 1024 (default 1024). Payloads larger than one
// block are sent and received in blocks.
func WithBlockSize(n int) Option { return func(c *config) { c.blockSize = n } }

// WithMaxObservers bounds the observations one peer may hold (default
// DefaultSettings().MaxObservers).
func WithMaxObservers(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.maxObservers = n
		}
	}
}

// WithDTLS serves CoAP over DTLS (coaps, RFC 7252 §9) instead of plain
// UDP, with pion/dtls configured by opts: piondtls.WithPSK and
// piondtls.WithCipherSuites (for example TLS_PSK_WITH_AES_128_CCM_8) for
// pre-shared keys, piondtls.WithCertificates for certificates. A peer's
// PSK identity, verified by the handshake, replaces the user name its
// requests authenticate with (as listeners.IdentityConn does for MQTT).
func WithDTLS(opts ...piondtls.ServerOption) Option {
	return func(c *config) { c.dtls = append([]piondtls.ServerOption{}, opts...) }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// maxTransmitWait is RFC 7252's MAX_TRANSMIT_WAIT for c's parameters: how
// long a confirmable message may go unacknowledged before its peer is
// taken to be gone.
func (c *config) maxTransmitWait() time.Duration {
	return time.Duration(float64(c.ackTimeout) * float64(int64(1)<<(c.maxRetransmit+1)-1) * 1.5)
}
