package broker

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/storage"
)

// Option configures a Broker; pass them to New, which reports an option
// given a value it cannot use.
type Option func(*Broker)

// invalid records a misuse of option name, for New to report.
func (b *Broker) invalid(name, format string, args ...any) {
	b.optErrs = append(b.optErrs, fmt.Errorf("broker: %s: "+format, append([]any{name}, args...)...))
}

// Limits bounds what clients may do. The zero value of a field means "use
// the default" (DefaultLimits, chosen so that a broker can face the
// internet: the README explains each); where a field says so, a negative
// value means "no limit".
type Limits struct {
	MaxConnections        int           // simultaneous connections (v5: CONNACK 0x97); -1: no limit
	MaxPendingConnections int           // connections that have not finished CONNECT; beyond, new ones are closed at once; -1: no limit
	MaxPacketSize         int           // largest packet accepted, in bytes
	ReceiveMaximum        uint16        // QoS>0 PUBLISHes a client may have unacknowledged towards the broker (v5)
	MaxInflight           int           // QoS>0 deliveries unacknowledged towards a client
	MaxQueuedMessages     int           // deliveries queued per session; beyond, new ones are dropped and counted
	MaxQueuedBytes        int           // bytes of messages queued per session (topic, payload, properties); beyond, new ones are dropped; -1: no limit
	MaxQueuedBytesTotal   int           // bytes queued and in flight in all sessions together; beyond, the broker sheds load (budget.go); default half of GOMEMLIMIT or of RAM; -1: no limit
	ConnectTimeout        time.Duration // time allowed between accept and CONNECT
	KeepAliveMax          uint16        // largest keep alive accepted, seconds (v5: Server Keep Alive; v3: refused above)
	MaxSessionExpiry      uint32        // cap on the session expiry interval, seconds, 3.1.x persistent sessions included (0xFFFFFFFF: no cap)
	MaxMessageExpiry      uint32        // cap on the message expiry interval, seconds (0: no cap)
	TopicAliasMaximum     uint16        // topic aliases a v5 client may use towards the broker
	MaxAliasBytes         int           // bytes of topic names one connection's aliases may hold (DISCONNECT 0x97 beyond); -1: no limit
	WriteTimeout          time.Duration // a write that cannot complete in this time closes the connection
	ConnectRate           int           // CONNECTs accepted per second, broker-wide; 0: unlimited (v5: CONNACK 0x9F)
	PublishRate           int           // PUBLISHes per second per client; 0: unlimited (v5: DISCONNECT 0x96)
	MaxSubscriptions      int           // subscriptions per session (SUBACK 0x97); -1: no limit
	StorageTimeout        time.Duration // bound on one storage call; past it the call fails (0x83 to a v5 publisher)
}

// DefaultLimits returns the limits used for every field left zero.
func DefaultLimits() Limits { return defaultLimits }

// defaultLimits is the one table of defaults: the library, mqttd's
// default configuration (checked by a test) and the README read it.
var defaultLimits = Limits{
	MaxConnections:        100_000,
	MaxPendingConnections: 10_000,
	MaxPacketSize:         1 << 20,
	ReceiveMaximum:        1024,
	MaxInflight:           4096,
	MaxQueuedMessages:     65536,
	MaxQueuedBytes:        64 << 20,
	ConnectTimeout:        10 * time.Second,
	KeepAliveMax:          65535,
	MaxSessionExpiry:      7 * 24 * 3600,
	TopicAliasMaximum:     10,
	MaxAliasBytes:         64 << 10,
	WriteTimeout:          30 * time.Second,
	MaxSubscriptions:      10_000,
	StorageTimeout:        5 * time.Second,
}

func (l Limits) withDefaults() Limits {
	d := defaultLimits
	set(&d.MaxConnections, l.MaxConnections)
	set(&d.MaxPendingConnections, l.MaxPendingConnections)
	set(&d.MaxQueuedBytes, l.MaxQueuedBytes)
	set(&d.MaxQueuedBytesTotal, l.MaxQueuedBytesTotal)
	set(&d.MaxAliasBytes, l.MaxAliasBytes)
	set(&d.MaxPacketSize, l.MaxPacketSize)
	set(&d.ReceiveMaximum, l.ReceiveMaximum)
	set(&d.MaxInflight, min(l.MaxInflight, 65535)) // packet identifiers are 16-bit
	set(&d.MaxQueuedMessages, l.MaxQueuedMessages)
	set(&d.ConnectTimeout, l.ConnectTimeout)
	set(&d.KeepAliveMax, l.KeepAliveMax)
	set(&d.MaxSessionExpiry, l.MaxSessionExpiry)
	set(&d.MaxMessageExpiry, l.MaxMessageExpiry)
	set(&d.TopicAliasMaximum, l.TopicAliasMaximum)
	set(&d.WriteTimeout, l.WriteTimeout)
	set(&d.ConnectRate, l.ConnectRate)
	set(&d.PublishRate, l.PublishRate)
	set(&d.MaxSubscriptions, l.MaxSubscriptions)
	set(&d.StorageTimeout, l.StorageTimeout)
	if l.MaxQueuedBytesTotal == 0 {
		d.MaxQueuedBytesTotal = defaultBudget() // from the machine: not in the table
	}
	return d
}

// set replaces *dst by v unless v is zero (zero keeps the default); a
// negative v (no limit, where a field allows it) becomes 0, which the
// broker reads as "no limit".
func set[T int | uint16 | uint32 | time.Duration](dst *T, v T) {
	switch {
	case v > 0:
		*dst = v
	case v < 0:
		*dst = 0
	}
}

// WithListener adds a listener; the broker serves it from Start until Close.
func WithListener(l listeners.Listener) Option {
	return func(b *Broker) {
		if l == nil {
			b.invalid("WithListener", "nil listener")
			return
		}
		b.listeners = append(b.listeners, l)
	}
}

// WithStorage sets the persistence backend (default: storage/memory).
// The broker closes it on Shutdown or Close.
func WithStorage(s storage.Store) Option {
	return func(b *Broker) {
		switch {
		case s == nil:
			b.invalid("WithStorage", "nil store")
		case b.store != nil:
			b.invalid("WithStorage", "given twice")
		}
		b.store = s
	}
}

// WithAuthenticator sets who may connect (default: everyone).
func WithAuthenticator(a Authenticator) Option {
	return func(b *Broker) {
		switch {
		case a == nil:
			b.invalid("WithAuthenticator", "nil")
		case b.authn != nil:
			b.invalid("WithAuthenticator", "given twice (combine them into one)")
		}
		b.authn = a
	}
}

// WithAuthorizer sets who may publish and subscribe to what (default: all).
func WithAuthorizer(a Authorizer) Option {
	return func(b *Broker) {
		switch {
		case a == nil:
			b.invalid("WithAuthorizer", "nil")
		case b.authz != nil:
			b.invalid("WithAuthorizer", "given twice (combine them into one)")
		}
		b.authz = a
	}
}

// WithMetrics sets the receiver of metric events (default: none).
func WithMetrics(m Metrics) Option {
	return func(b *Broker) {
		switch {
		case m == nil:
			b.invalid("WithMetrics", "nil")
		case b.metrics != (NoMetrics{}):
			b.invalid("WithMetrics", "given twice (combine them into one)")
		}
		b.metrics = m
	}
}

// WithHooks registers lifecycle and message hooks. Each value implements
// one or more of the hook interfaces of hooks.go (ConnectHook,
// SubscribedHook, DeliveredHook, ...); the broker finds out which by type
// assertion, and New refuses a value that implements none.
func WithHooks(hooks ...any) Option {
	return func(b *Broker) {
		for i, h := range hooks {
			if !b.hooks.add(h) {
				b.invalid("WithHooks", "argument %d (%T) implements no hook interface", i, h)
			}
		}
	}
}

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(b *Broker) { b.log = l } }

// WithLimits sets the client limits; zero fields keep their defaults.
func WithLimits(l Limits) Option {
	return func(b *Broker) {
		if err := l.validate(); err != nil {
			b.invalid("WithLimits", "%v", err)
		}
		b.limits = l.withDefaults()
	}
}

// features are the optional MQTT 5 capabilities, all available by default
// and advertised in CONNACK when switched off [MQTT-3.2.2.3].
type features struct {
	maxQoS       byte
	noRetain     bool
	noWildcards  bool
	noSubIDs     bool
	noShared     bool
	responseInfo string // Response Information prefix; "" sends none
	serverRef    string // Server Reference for redirection; "" none
	moved        bool   // the redirection is permanent (0x9D) rather than temporary (0x9C)
	sysInterval  time.Duration

	keepStoredWills bool // WithoutWillRestore: New leaves stored wills to the host
}

// WithMaximumQoS caps the QoS clients may publish with (0 or 1; 2 is the
// default). Subscriptions are granted at most this QoS; a v5 PUBLISH above
// it is answered with DISCONNECT 0x9B [MQTT-3.2.2-11].
func WithMaximumQoS(q byte) Option {
	return func(b *Broker) {
		if q > 2 {
			b.invalid("WithMaximumQoS", "QoS %d (must be 0, 1 or 2)", q)
			return
		}
		b.feat.maxQoS = q
	}
}

// WithoutRetain makes retained messages unavailable [MQTT-3.2.2-14].
func WithoutRetain() Option { return func(b *Broker) { b.feat.noRetain = true } }

// WithoutWildcardSubscriptions refuses filters with '+' or '#' (SUBACK 0xA2).
func WithoutWildcardSubscriptions() Option { return func(b *Broker) { b.feat.noWildcards = true } }

// WithoutSubscriptionIdentifiers refuses SUBSCRIBEs that carry one (DISCONNECT 0xA1).
func WithoutSubscriptionIdentifiers() Option { return func(b *Broker) { b.feat.noSubIDs = true } }

// WithoutSharedSubscriptions refuses "$share/" filters (SUBACK 0x9E).
func WithoutSharedSubscriptions() Option { return func(b *Broker) { b.feat.noShared = true } }

// WithResponseInformation answers a v5 CONNECT that requests response
// information with prefix + client identifier + "/", a topic base the client
// may build response topics on [MQTT-3.1.2-28, 4.10].
func WithResponseInformation(prefix string) Option {
	return func(b *Broker) { b.feat.responseInfo = prefix }
}

// WithSysInterval publishes the $SYS topics every d (default 10 s; a
// negative d turns them off).
func WithSysInterval(d time.Duration) Option { return func(b *Broker) { b.feat.sysInterval = d } }

// WithoutWillRestore makes New leave the wills it finds in storage alone:
// neither published nor deleted. By default New publishes them, as wills
// of clients that were connected when the broker stopped without tearing
// them down [MQTT-3.1.2-8]. On a store shared by several brokers (the
// cluster package) a stored will may be that of a client connected to
// another broker, alive: the host then publishes only those of its own
// previous instance's clients (whose claim names it; see Broker.ID). Wills
// of clients connected to this broker are stored and published as usual.
func WithoutWillRestore() Option { return func(b *Broker) { b.feat.keepStoredWills = true } }

// WithRedirect refuses every connection and sends MQTT 5 clients to another
// server: CONNACK 0x9C Use another server (0x9D Server moved when permanent)
// with the Server Reference ref [MQTT-4.11]. 3.1.x clients get return code 3.
func WithRedirect(ref string, permanent bool) Option {
	return func(b *Broker) { b.feat.serverRef, b.feat.moved = ref, permanent }
}

// validate reports a negative limit, which has no meaning.
func (l Limits) validate() error {
	var errs []error
	neg := func(name string, v int64) {
		if v < 0 {
			errs = append(errs, fmt.Errorf("%s is negative (%d)", name, v))
		}
	}
	neg("MaxPacketSize", int64(l.MaxPacketSize))
	neg("MaxInflight", int64(l.MaxInflight))
	neg("MaxQueuedMessages", int64(l.MaxQueuedMessages))
	neg("ConnectTimeout", int64(l.ConnectTimeout))
	neg("WriteTimeout", int64(l.WriteTimeout))
	neg("ConnectRate", int64(l.ConnectRate))
	neg("PublishRate", int64(l.PublishRate))
	neg("StorageTimeout", int64(l.StorageTimeout))
	if l.MaxPacketSize > 268435455 {
		errs = append(errs, fmt.Errorf("MaxPacketSize %d is above MQTT's 268435455", l.MaxPacketSize))
	}
	return errors.Join(errs...)
}
