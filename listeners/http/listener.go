package httpbridge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners"
)

// Broker is what the bridge needs of the broker: a way to act as an
// authenticated client. *broker.Broker implements it; Serve receives it as
// its listeners.Handler.
type Broker interface {
	NewClient(ctx context.Context, creds *broker.Credentials) (*broker.Client, error)
}

// Limits bounds what HTTP clients may do. The zero value of a field means
// "use the default" (DefaultLimits); durations that can be switched off
// take a negative value for "off".
type Limits struct {
	// MaxBodySize is the largest publish body, in bytes (413 beyond).
	MaxBodySize int64
	// MaxStreams bounds the streams held at once, attached to a request or
	// waiting to be resumed (503 beyond). With the buffer limits it bounds
	// the memory of all streams: MaxStreams × StreamBufferBytes, plus at
	// most one message each above that (see StreamBufferBytes).
	MaxStreams int
	// MaxStreamsPerUser bounds the streams of one user name (429 beyond);
	// 0: no bound. Anonymous clients, and bearer tokens whose
	// Authenticator sets no user name, share the user name "".
	MaxStreamsPerUser int
	// StreamBufferMessages and StreamBufferBytes bound a stream's buffer:
	// events kept for resumption and events its reader has yet to
	// receive. A single event larger than StreamBufferBytes is still
	// accepted into an otherwise empty buffer.
	StreamBufferMessages int
	StreamBufferBytes    int
	// ResumeWindow is how long a stream outlives the request that read it,
	// for a client to resume it; negative: streams end with their request.
	ResumeWindow time.Duration
	// RequestTimeout bounds a publish or retained request: reading the
	// body, the broker's work and writing the answer.
	RequestTimeout time.Duration
	// ReadHeaderTimeout bounds reading a request's headers (slowloris).
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection idle for this long.
	IdleTimeout time.Duration
	// WriteTimeout bounds one write of a stream (a reader whose TCP window
	// stays shut for this long is disconnected) and the writing of any
	// other answer once its work is done.
	WriteTimeout time.Duration
	// KeepAlive is the interval of SSE comment lines sent on a quiet
	// stream, so that proxies keep it open and a dead peer is noticed.
	KeepAlive time.Duration
	// MaxWait caps the wait of a long poll.
	MaxWait time.Duration
	// MaxHeaderBytes bounds a request's headers (MQTT properties travel
	// there).
	MaxHeaderBytes int
}

// DefaultLimits are the limits used for every field left zero.
var DefaultLimits = Limits{
	MaxBodySize:          1 << 20,
	MaxStreams:           1024,
	StreamBufferMessages: 1000,
	StreamBufferBytes:    1 << 20,
	ResumeWindow:         30 * time.Second,
	RequestTimeout:       30 * time.Second,
	ReadHeaderTimeout:    10 * time.Second,
	IdleTimeout:          2 * time.Minute,
	WriteTimeout:         10 * time.Second,
	KeepAlive:            15 * time.Second,
	MaxWait:              time.Minute,
	MaxHeaderBytes:       64 << 10,
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	set(&d.MaxBodySize, l.MaxBodySize)
	set(&d.MaxStreams, l.MaxStreams)
	set(&d.MaxStreamsPerUser, l.MaxStreamsPerUser)
	set(&d.StreamBufferMessages, l.StreamBufferMessages)
	set(&d.StreamBufferBytes, l.StreamBufferBytes)
	if l.ResumeWindow != 0 {
		d.ResumeWindow = l.ResumeWindow
	}
	set(&d.RequestTimeout, l.RequestTimeout)
	set(&d.ReadHeaderTimeout, l.ReadHeaderTimeout)
	set(&d.IdleTimeout, l.IdleTimeout)
	set(&d.WriteTimeout, l.WriteTimeout)
	set(&d.KeepAlive, l.KeepAlive)
	set(&d.MaxWait, l.MaxWait)
	set(&d.MaxHeaderBytes, l.MaxHeaderBytes)
	return d
}

func set[T int | int64 | time.Duration](dst *T, v T) {
	if v > 0 {
		*dst = v
	}
}

// Option configures a Listener; pass them to New.
type Option func(*Listener)

// WithLimits sets the limits; zero fields keep their defaults.
func WithLimits(l Limits) Option { return func(x *Listener) { x.limits = l.withDefaults() } }

// WithLogger sets the logger (default: slog.Default()).
func WithLogger(lg *slog.Logger) Option { return func(x *Listener) { x.log = lg } }

// WithTLSConfig serves HTTPS with cfg; the handshake's state reaches the
// broker as ClientInfo.TLS.
func WithTLSConfig(cfg *tls.Config) Option { return func(x *Listener) { x.tls = cfg } }

// Stats are the listener's counters.
type Stats struct {
	Requests      uint64 // HTTP requests received
	Published     uint64 // messages the broker accepted
	Streams       int    // streams held now, attached or waiting to be resumed
	StreamsOpened uint64 // streams created
	Resumed       uint64 // requests that resumed a stream
	SlowClosed    uint64 // streams closed because their reader fell a whole buffer behind
	Refused       uint64 // streams refused by MaxStreams or MaxStreamsPerUser
}

// Listener is the HTTP bridge. Create it with New and register it with
// broker.WithListener.
type Listener struct {
	name    string
	ln      net.Listener
	limits  Limits
	log     *slog.Logger
	tls     *tls.Config
	srv     *http.Server
	streams *registry

	b atomic.Pointer[Broker]

	mu       sync.Mutex // guards closed and the Add of handlers
	closed   bool
	handlers sync.WaitGroup // requests being served
	once     sync.Once

	requests  atomic.Uint64
	published atomic.Uint64
}

// New listens on address ("127.0.0.1:8080", ":0" for a random port) and
// names the listener name ("http" when empty); requests are served from
// Serve on.
func New(name, address string, opts ...Option) (*Listener, error) {
	if name == "" {
		name = "http"
	}
	l := &Listener{name: name, limits: DefaultLimits, log: slog.Default()}
	for _, o := range opts {
		o(l)
	}
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, err
	}
	if l.tls != nil {
		ln = tls.NewListener(ln, l.tls)
	}
	l.ln = ln
	l.streams = newRegistry(&l.limits, l.log)
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: l.limits.ReadHeaderTimeout,
		IdleTimeout:       l.limits.IdleTimeout,
		MaxHeaderBytes:    l.limits.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(l.log.Handler(), slog.LevelDebug),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, remoteKey{}, c.RemoteAddr())
		},
	}
	return l, nil
}

// remoteKey is the request context key of the TCP peer's net.Addr.
type remoteKey struct{}

// Name returns the listener's name.
func (l *Listener) Name() string { return l.name }

// Addr returns the address it listens on.
func (l *Listener) Addr() net.Addr { return l.ln.Addr() }

// Serve serves HTTP requests until Close, acting on h, which must
// implement Broker (the *broker.Broker does). It returns nil after Close.
func (l *Listener) Serve(h listeners.Handler) error {
	b, ok := h.(Broker)
	if !ok {
		return fmt.Errorf("httpbridge: handler %T has no NewClient method: the HTTP bridge needs the *broker.Broker", h)
	}
	l.b.Store(&b)
	err := l.srv.Serve(l.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Close stops the server: the listening socket and every connection are
// closed, streams end (their subscriptions are cancelled), and Close
// returns once no request is being served.
func (l *Listener) Close() error {
	var err error
	l.once.Do(func() {
		l.mu.Lock()
		l.closed = true
		l.mu.Unlock()
		err = l.srv.Close()
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		// Serve may never have run: close the socket in any case.
		if cerr := l.ln.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = cerr
		}
		l.streams.close()
		l.handlers.Wait()
	})
	return err
}

// Stats returns the listener's counters.
func (l *Listener) Stats() Stats {
	s := l.streams.stats()
	s.Requests = l.requests.Load()
	s.Published = l.published.Load()
	return s
}

// ServeHTTP routes a request to its endpoint.
func (l *Listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, errShuttingDown)
		return
	}
	l.handlers.Add(1)
	l.mu.Unlock()
	defer l.handlers.Done()
	l.requests.Add(1)
	// A deadline for the answer, after RequestTimeout for the work;
	// streams move it before each write. It also replaces one a stream
	// left on this keep-alive connection.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(l.limits.RequestTimeout + l.limits.WriteTimeout))

	endpoint, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
	switch endpoint {
	case "publish":
		if !allow(w, r, http.MethodPost) {
			return
		}
		topic, ok := topicParam(w, r, rest, "topic")
		if ok {
			l.publish(w, r, topic)
		}
	case "subscribe":
		if !allow(w, r, http.MethodGet) {
			return
		}
		filter, ok := topicParam(w, r, rest, "filter")
		if ok {
			l.subscribe(w, r, filter)
		}
	case "retained":
		if !allow(w, r, http.MethodGet, http.MethodDelete) {
			return
		}
		topic, ok := topicParam(w, r, rest, "topic")
		if !ok {
			return
		}
		if r.Method == http.MethodDelete {
			l.clearRetained(w, r, topic)
		} else {
			l.retained(w, r, topic)
		}
	default:
		writeJSON(w, http.StatusNotFound, errorBody{Error: "no such endpoint: use /publish, /subscribe or /retained"})
	}
}

// allow answers 405 unless r's method is one of methods (HEAD is not
// served: every endpoint acts).
func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: "method " + r.Method + " not allowed (" + strings.Join(methods, ", ") + ")"})
	return false
}

// client authenticates r with the broker and returns the Client it acts
// as; on failure it has answered.
func (l *Listener) client(w http.ResponseWriter, r *http.Request) (*broker.Client, []byte, bool) {
	bp := l.b.Load()
	if bp == nil {
		writeError(w, http.StatusServiceUnavailable, errShuttingDown)
		return nil, nil, false
	}
	creds, err := credentials(r)
	if err != nil {
		challenge(w)
		writeError(w, http.StatusUnauthorized, err)
		return nil, nil, false
	}
	creds.Listener = l.name
	creds.CleanStart = true
	creds.TLS = r.TLS
	if a, ok := r.Context().Value(remoteKey{}).(net.Addr); ok {
		creds.Remote = a
	}
	ctx, cancel := context.WithTimeout(r.Context(), l.limits.RequestTimeout)
	defer cancel()
	c, err := (*bp).NewClient(ctx, creds)
	if err != nil {
		status := statusOf(err)
		if status == http.StatusForbidden && creds.Password == nil && creds.Username == "" {
			// Refused for want of credentials: ask for them.
			status = http.StatusUnauthorized
		}
		if status == http.StatusUnauthorized {
			challenge(w)
		}
		writeError(w, status, err)
		return nil, nil, false
	}
	return c, creds.Password, true
}

// challenge names the schemes a client may authenticate with
// (RFC 9110 section 11.6.1).
func challenge(w http.ResponseWriter) {
	w.Header().Add("WWW-Authenticate", `Basic realm="tern", charset="UTF-8"`)
	w.Header().Add("WWW-Authenticate", `Bearer realm="tern"`)
}
