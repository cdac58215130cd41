package opcua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/topics"
)

// Expose makes the topics matching Filter variable nodes of server mode.
type Expose struct {
	// Filter is an MQTT topic filter ("factory/#"); a node is created for
	// each concrete topic as its first message arrives (retained messages
	// included).
	Filter string
	// Encoding maps payloads to values; EncodingString when empty.
	Encoding Encoding
	// Writable lets OPC UA clients write the nodes: a write publishes the
	// value to the topic with QoS and Retain, under the Identity's ACL.
	Writable bool
	QoS      byte
	Retain   bool
}

// ServerConfig configures server mode. Only Expose is required.
type ServerConfig struct {
	// Expose lists the topic filters to mirror; a topic matching several
	// takes the settings of the first.
	Expose []Expose
	// Identity is who the bridge reads and writes as (see Identity).
	Identity Identity
	// Namespace is the namespace URI; DefaultNamespace when empty.
	Namespace string
	// RootName is the browse name of the root folder under Objects;
	// DefaultRootName when empty.
	RootName string
	// Hostname is the host in the advertised endpoint URL; the listening
	// host when empty, or the machine's host name when that is a wildcard
	// address.
	Hostname string
	// MaxNodes bounds the variables (DefaultMaxNodes when 0): messages on
	// further topics are not exposed, counted in Stats.Refused and logged
	// once. A node holds its topic's last payload, so memory is at most
	// MaxNodes times the broker's maximum packet size.
	MaxNodes int
	// HandshakeTimeout bounds the wait for a client's Hello
	// (DefaultHandshakeTimeout when 0).
	HandshakeTimeout time.Duration
	// Logger receives the bridge's logs; nothing is logged when nil.
	Logger *slog.Logger
}

// ServerStats counts what server mode did.
type ServerStats struct {
	Nodes    int    // variable nodes
	Updates  uint64 // MQTT messages applied to nodes
	Invalid  uint64 // payloads that did not convert (the node's status is then Bad)
	Refused  uint64 // messages on new topics beyond MaxNodes
	Writes   uint64 // OPC UA writes published
	Rejected uint64 // OPC UA writes refused by the broker (ACL, ...)
}

// Server is server mode: a listeners.Listener serving OPC UA.
type Server struct {
	name   string
	cfg    ServerConfig
	log    *slog.Logger
	ln     net.Listener
	public string // advertised endpoint URL

	updates, invalid, refused, writes, rejected atomic.Uint64

	mu      sync.Mutex // guards ts, closed, stop
	ts      *topicSpace
	closed  bool
	stop    chan struct{} // closed by Close
	served  chan struct{} // closed when Serve has cleaned up
	serving bool

	// creating gates CreateSubscription against shutdown: a subscription
	// created after endSubscriptions would run until its lifetime ends.
	creating struct {
		mu     sync.Mutex
		closed bool
		wg     sync.WaitGroup
		// subs are the subscriptions made, the last maxTrackedSubs:
		// gopcua numbers a new one len(Subs)+1, which can be the number of
		// a live one after a deletion, and the live one then drops out of
		// Subs while its goroutine runs on until its lifetime ends. Shutdown
		// ends them all from here.
		subs []*server.Subscription
	}
}

// maxTrackedSubs bounds the subscriptions remembered for shutdown.
const maxTrackedSubs = 10000

// created remembers the subscription just made under id.
func (s *Server) created(srv *server.Server, id uint32) {
	ss := srv.SubscriptionService
	ss.Mu.Lock()
	sub := ss.Subs[id]
	ss.Mu.Unlock()
	if sub == nil {
		return
	}
	s.creating.mu.Lock()
	if len(s.creating.subs) >= maxTrackedSubs {
		s.creating.subs = append(s.creating.subs[:0], s.creating.subs[maxTrackedSubs/2:]...)
	}
	s.creating.subs = append(s.creating.subs, sub)
	s.creating.mu.Unlock()
}

// beginCreate admits a CreateSubscription unless the server is stopping;
// the caller calls s.creating.wg.Done when it is done.
func (s *Server) beginCreate() bool {
	s.creating.mu.Lock()
	defer s.creating.mu.Unlock()
	if s.creating.closed {
		return false
	}
	s.creating.wg.Add(1)
	return true
}

// stopCreating refuses new subscriptions and waits for those being made.
func (s *Server) stopCreating() {
	s.creating.mu.Lock()
	s.creating.closed = true
	s.creating.mu.Unlock()
	s.creating.wg.Wait()
}

// NewServer validates cfg and listens on address ("127.0.0.1:4840"; port
// 0 picks a free one) for OPC UA clients. The OPC UA server itself starts
// in Serve, when the broker starts.
func NewServer(name, address string, cfg ServerConfig) (*Server, error) {
	if name == "" {
		name = "opcua"
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, err
	}
	host := cfg.Hostname
	if host == "" {
		host, _, _ = net.SplitHostPort(ln.Addr().String())
		if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
			if host, err = os.Hostname(); err != nil {
				host = "localhost"
			}
		}
	}
	port := ln.Addr().(*net.TCPAddr).Port
	s := &Server{
		name:   name,
		cfg:    cfg,
		log:    logger(cfg.Logger),
		ln:     ln,
		public: "opc.tcp://" + net.JoinHostPort(host, strconv.Itoa(port)),
		stop:   make(chan struct{}),
		served: make(chan struct{}),
	}
	return s, nil
}

// validate checks cfg and fills in defaults.
func (c *ServerConfig) validate() error {
	if len(c.Expose) == 0 {
		return errors.New("opcua: server mode needs at least one Expose filter")
	}
	for i := range c.Expose {
		e := &c.Expose[i]
		if err := topics.ValidateFilter([]byte(e.Filter)); err != nil || e.Filter == "" {
			return fmt.Errorf("opcua: expose[%d]: invalid topic filter %q", i, e.Filter)
		}
		if e.Encoding == "" {
			e.Encoding = EncodingString
		}
		if !e.Encoding.Valid() {
			return fmt.Errorf("opcua: expose[%d]: unknown encoding %q (one of %v)", i, e.Encoding, Encodings)
		}
		if e.QoS > 2 {
			return fmt.Errorf("opcua: expose[%d]: QoS %d", i, e.QoS)
		}
	}
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.RootName == "" {
		c.RootName = DefaultRootName
	}
	if c.MaxNodes <= 0 {
		c.MaxNodes = DefaultMaxNodes
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = DefaultHandshakeTimeout
	}
	return nil
}

// Name returns the listener's name.
func (s *Server) Name() string { return s.name }

// Addr returns the address OPC UA clients connect to.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// EndpointURL returns the advertised endpoint, opc.tcp://host:port.
func (s *Server) EndpointURL() string { return s.public }

// NamespaceIndex returns the index of the topic namespace (1: after the
// standard namespace 0), for building NodeIds ns=N;s=<topic>.
func (s *Server) NamespaceIndex() uint16 { return 1 }

// Stats returns the counters of server mode.
func (s *Server) Stats() ServerStats {
	st := ServerStats{
		Updates:  s.updates.Load(),
		Invalid:  s.invalid.Load(),
		Refused:  s.refused.Load(),
		Writes:   s.writes.Load(),
		Rejected: s.rejected.Load(),
	}
	s.mu.Lock()
	ts := s.ts
	s.mu.Unlock()
	if ts != nil {
		st.Nodes = ts.nodes()
	}
	return st
}

// Serve starts the OPC UA server and mirrors the exposed topics until
// Close. h must be the broker (it needs its NewClient).
func (s *Server) Serve(h listeners.Handler) (err error) {
	b, ok := h.(host)
	if !ok {
		return fmt.Errorf("opcua: listener %q: the handler %T has no NewClient: register it with broker.WithListener", s.name, h)
	}
	s.mu.Lock()
	if s.closed || s.serving {
		s.mu.Unlock()
		return nil
	}
	s.serving = true
	s.mu.Unlock()
	defer close(s.served)

	ctx, cancel := context.WithTimeout(context.Background(), DefaultRequestTimeout)
	client, err := b.NewClient(ctx, s.cfg.Identity.credentials(s.name))
	cancel()
	if err != nil {
		_ = s.ln.Close()
		return fmt.Errorf("opcua: listener %q: the broker refused its identity: %w", s.name, err)
	}
	defer client.Close()

	inner, err := freeLoopbackPort()
	if err != nil {
		_ = s.ln.Close()
		return err
	}
	srv := server.New(
		server.EndPoint("127.0.0.1", inner), // listened on; the proxy's target
		server.EndPoint(hostOf(s.public), s.ln.Addr().(*net.TCPAddr).Port),
		server.EnableSecurity("None", ua.MessageSecurityModeNone),
		server.EnableAuthMode(ua.UserTokenTypeAnonymous),
		server.ServerName("Tern "+s.name),
		server.ManufacturerName("Tern"),
		server.ProductName("Tern MQTT broker, OPC UA bridge"),
		server.SetLogger(gopcuaLogger{s.log}),
	)
	ts := newTopicSpace(s.cfg.Namespace, s.cfg.RootName, s.cfg.Expose, s.cfg.MaxNodes)
	ts.write = func(topic string, e *Expose, v *ua.Variant) ua.StatusCode { return s.publish(client, topic, e, v) }
	srv.AddNamespace(ts)
	srv.Node(server.ObjectsFolder).AddRef(ts.rootNode(), id.Organizes, true)
	s.registerHandlers(srv, ts, s.public)

	sctx, stopServer := context.WithCancel(context.Background())
	defer stopServer()
	if err := srv.Start(sctx); err != nil {
		_ = s.ln.Close()
		return fmt.Errorf("opcua: listener %q: %w", s.name, err)
	}
	px := &proxy{ln: s.ln, log: s.log, target: net.JoinHostPort("127.0.0.1", strconv.Itoa(inner)), deadline: s.cfg.HandshakeTimeout, conns: make(map[net.Conn]struct{})}
	pxDone := make(chan struct{})
	go func() { defer close(pxDone); px.serve() }()

	n := newNotifier(srv)
	go n.run()
	s.mu.Lock()
	s.ts = ts
	s.mu.Unlock()

	var cancels []func()
	for i, e := range s.cfg.Expose {
		cancelSub, err := client.Subscribe(e.Filter, 2, func(m *broker.Message) { s.apply(ts, n, i, m) })
		if err != nil {
			s.log.Error("opcua: cannot subscribe", "listener", s.name, "filter", e.Filter, "err", err)
			continue
		}
		cancels = append(cancels, cancelSub)
	}
	s.log.Info("opcua: serving", "listener", s.name, "endpoint", s.public, "namespace", s.cfg.Namespace)

	<-s.stop
	for _, c := range cancels {
		c()
	}
	px.close()
	<-pxDone
	n.close()
	s.stopCreating()
	endSubscriptions(srv, s.creating.subs)
	_ = srv.Close()
	stopServer()
	return nil
}

// apply sets a topic's node from a message of the subscription to
// Expose i.
func (s *Server) apply(ts *topicSpace, n *notifier, i int, m *broker.Message) {
	if ts.exposeOf(m.Topic) != i {
		return // an earlier filter owns the topic; its subscription applies it
	}
	e := &ts.exposes[i]
	dv := &ua.DataValue{SourceTimestamp: m.Received}
	if dv.SourceTimestamp.IsZero() {
		dv.SourceTimestamp = time.Now()
	}
	v, err := payloadVariant(e.Encoding, m.Payload)
	switch {
	case errors.Is(err, errEmpty):
		dv.Status = ua.StatusBadNoData
	case err != nil:
		dv.Status = ua.StatusBadDataEncodingInvalid
		s.invalid.Add(1)
	default:
		dv.Value = v
	}
	dv.UpdateMask()
	nid, refusedFirst := ts.update(m.Topic, i, dv)
	if nid == nil {
		s.refused.Add(1)
		if refusedFirst {
			s.log.Warn("opcua: node limit reached, new topics are not exposed", "listener", s.name, "max_nodes", s.cfg.MaxNodes, "topic", m.Topic)
		}
		return
	}
	s.updates.Add(1)
	if err != nil && !errors.Is(err, errEmpty) && ts.warnOnce(m.Topic) {
		s.log.Warn("opcua: payload does not convert; the node's status is BadDataEncodingInvalid (logged once per topic)",
			"listener", s.name, "topic", m.Topic, "encoding", string(e.Encoding), "err", err)
	}
	n.mark(nid)
}

// publish publishes an OPC UA client's write.
func (s *Server) publish(c *broker.Client, topic string, e *Expose, v *ua.Variant) ua.StatusCode {
	payload, text, err := variantPayload(e.Encoding, v)
	if err != nil {
		s.rejected.Add(1)
		return ua.StatusBadTypeMismatch
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultRequestTimeout)
	defer cancel()
	_, err = c.Publish(ctx, &broker.Message{Topic: topic, Payload: payload, QoS: e.QoS, Retain: e.Retain, PayloadUTF8: text})
	sc := publishStatus(err)
	if sc != ua.StatusGood {
		s.rejected.Add(1)
		s.log.Debug("opcua: write refused", "listener", s.name, "topic", topic, "err", err, "status", statusName(sc))
		return sc
	}
	s.writes.Add(1)
	return ua.StatusGood
}

// Close stops the OPC UA server, closes its connections and ends its
// subscriptions; when Serve runs, Close waits for it to clean up.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	serving := s.serving
	close(s.stop)
	s.mu.Unlock()
	if serving {
		<-s.served
	} else {
		_ = s.ln.Close()
	}
	return nil
}

// endSubscriptions stops gopcua's subscription goroutines, which would
// otherwise run until their lifetime count expires: those in Subs and
// those made (made) that dropped out of it. Deleting one that ended does
// nothing.
func endSubscriptions(srv *server.Server, made []*server.Subscription) {
	ss := srv.SubscriptionService
	if ss == nil {
		return
	}
	ss.Mu.Lock()
	live := make([]*server.Subscription, 0, len(ss.Subs)+len(made))
	for _, sub := range ss.Subs {
		live = append(live, sub)
	}
	ss.Mu.Unlock()
	for _, sub := range append(live, made...) {
		// DeleteSubscription ends what Subs holds under the number: put
		// this one there first.
		ss.Mu.Lock()
		ss.Subs[sub.ID] = sub
		ss.Mu.Unlock()
		ss.DeleteSubscription(sub.ID)
	}
}

// freeLoopbackPort returns a TCP port free on 127.0.0.1 at the time of the
// call (gopcua's server cannot listen on port 0 and say which it got).
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// hostOf returns the host of an opc.tcp URL.
func hostOf(url string) string {
	h, _, _ := net.SplitHostPort(url[len("opc.tcp://"):])
	return h
}
