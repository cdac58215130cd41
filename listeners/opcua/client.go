package opcua

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gopcua "github.com/gopcua/opcua"
	"github.com/gopcua/opcua/ua"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/topics"
)

// NodeMap maps one node of the external server to a topic.
type NodeMap struct {
	// NodeID is the node to monitor, in OPC UA's text form:
	// "ns=2;s=Line1.Temperature", "ns=3;i=1001", or with the namespace's
	// URI, resolved at each connection (indexes may change when the
	// server is reconfigured): "nsu=urn:acme:plc;s=Line1.Temperature".
	NodeID string
	// Topic receives every change of the node's value.
	Topic  string
	QoS    byte
	Retain bool
	// CommandTopic, when set, is subscribed to: each message on it is
	// written to the node (write-back), and the write's status is
	// published to ResultTopic (CommandTopic + "/result" when empty) and,
	// for MQTT 5 requests, to the message's response topic.
	CommandTopic string
	ResultTopic  string
}

// BrowseMap maps every variable below a node of the external server to a
// topic under Prefix: Prefix/<browse name>/<browse name>/..., found
// anew at each connection.
type BrowseMap struct {
	// Root is the node browsed from ("ns=2;s=Line1", "i=85"; see
	// NodeMap.NodeID).
	Root   string
	Prefix string
	QoS    byte
	Retain bool
	// MaxDepth bounds the levels below Root (5 when 0).
	MaxDepth int
}

// ClientConfig configures client mode. Endpoint and at least one node or
// browse root are required.
type ClientConfig struct {
	// Endpoint is the server's URL, opc.tcp://host:port/path.
	Endpoint string
	// SecurityPolicy is None (the default), Basic256Sha256,
	// Aes128_Sha256_RsaOaep, ... (the name or the full URI).
	SecurityPolicy string
	// SecurityMode is None (the default), Sign or SignAndEncrypt.
	SecurityMode string
	// Username and Password log in; anonymous when Username is empty.
	Username string
	Password string
	// CertificateFile and PrivateKeyFile (PEM or DER) are the client's
	// application instance certificate, needed by any policy but None.
	CertificateFile string
	PrivateKeyFile  string
	// PublishingInterval is the subscription's publishing interval
	// (DefaultPublishingInterval when 0).
	PublishingInterval time.Duration
	// QueueSize is each monitored item's queue (DefaultQueueSize when 0).
	QueueSize uint32
	Nodes     []NodeMap
	Browse    []BrowseMap
	// Payload is PayloadJSON (the default) or PayloadRaw.
	Payload PayloadFormat
	// StateTopic receives "up" and "down" (retained) as the connection
	// comes and goes; "$SYS/opcua/<listener name>/state" when empty. A
	// $SYS topic is published as the host (clients may not publish
	// there), any other as Identity.
	StateTopic string
	// Identity is who the bridge publishes and subscribes as.
	Identity Identity
	// ReconnectMin and ReconnectMax bound the backoff between connection
	// attempts (DefaultReconnectMin, DefaultReconnectMax when 0).
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// RequestTimeout bounds each OPC UA request (DefaultRequestTimeout).
	RequestTimeout time.Duration
	// Logger receives the bridge's logs; nothing is logged when nil.
	Logger *slog.Logger
}

// ClientStats counts what client mode did.
type ClientStats struct {
	State         string // "up" or "down"
	Connects      uint64 // sessions established
	DataChanges   uint64 // data changes received
	Published     uint64 // data changes published
	PublishErrors uint64 // publishes the broker refused
	Writes        uint64 // write-back commands that reached the server
	WriteErrors   uint64 // commands not written, or written with a Bad status
}

// Client is client mode: a listeners.Listener that accepts nothing but
// mirrors an external OPC UA server's nodes into topics.
type Client struct {
	name string
	cfg  ClientConfig
	log  *slog.Logger

	connects, changes, published, pubErrors, writes, writeErrors atomic.Uint64

	mu      sync.Mutex // guards the fields below
	conn    *gopcua.Client
	nodes   []*ua.NodeID         // cfg.Nodes resolved for conn (nil: not found)
	types   map[string]ua.TypeID // last value type per node id, for writes
	up      bool
	closed  bool
	serving bool
	stop    chan struct{}
	served  chan struct{}
}

// NewClient validates cfg; the connection starts in Serve.
func NewClient(name string, cfg ClientConfig) (*Client, error) {
	if name == "" {
		name = "opcua"
	}
	c := &Client{name: name, log: logger(cfg.Logger), types: make(map[string]ua.TypeID), stop: make(chan struct{}), served: make(chan struct{})}
	if err := cfg.validate(name); err != nil {
		return nil, err
	}
	c.cfg = cfg
	return c, nil
}

// validate checks cfg and fills in defaults.
func (c *ClientConfig) validate(name string) error {
	if err := CheckEndpoint(c.Endpoint); err != nil {
		return fmt.Errorf("opcua: endpoint: %w", err)
	}
	if len(c.Nodes) == 0 && len(c.Browse) == 0 {
		return errors.New("opcua: client mode needs nodes or browse roots")
	}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		if err := CheckNodeID(n.NodeID); err != nil {
			return fmt.Errorf("opcua: nodes[%d]: %w", i, err)
		}
		if topics.ValidateName([]byte(n.Topic)) != nil {
			return fmt.Errorf("opcua: nodes[%d]: invalid topic %q", i, n.Topic)
		}
		if n.QoS > 2 {
			return fmt.Errorf("opcua: nodes[%d]: QoS %d", i, n.QoS)
		}
		if n.CommandTopic != "" {
			if topics.ValidateName([]byte(n.CommandTopic)) != nil {
				return fmt.Errorf("opcua: nodes[%d]: invalid command topic %q", i, n.CommandTopic)
			}
			if n.ResultTopic == "" {
				n.ResultTopic = n.CommandTopic + "/result"
			}
			if topics.ValidateName([]byte(n.ResultTopic)) != nil {
				return fmt.Errorf("opcua: nodes[%d]: invalid result topic %q", i, n.ResultTopic)
			}
		}
	}
	for i := range c.Browse {
		b := &c.Browse[i]
		if err := CheckNodeID(b.Root); err != nil {
			return fmt.Errorf("opcua: browse[%d]: root: %w", i, err)
		}
		if topics.ValidateName([]byte(b.Prefix)) != nil {
			return fmt.Errorf("opcua: browse[%d]: invalid topic prefix %q", i, b.Prefix)
		}
		if b.MaxDepth <= 0 {
			b.MaxDepth = 5
		}
	}
	if c.SecurityPolicy == "" {
		c.SecurityPolicy = "None"
	}
	if c.SecurityMode == "" {
		c.SecurityMode = "None"
	}
	if ua.MessageSecurityModeFromString(c.SecurityMode) == ua.MessageSecurityModeInvalid {
		return fmt.Errorf("opcua: unknown security mode %q (None, Sign, SignAndEncrypt)", c.SecurityMode)
	}
	if (c.SecurityPolicy != "None") != (c.SecurityMode != "None") {
		return fmt.Errorf("opcua: security policy %s with security mode %s: both or neither must be None", c.SecurityPolicy, c.SecurityMode)
	}
	if c.SecurityPolicy != "None" && (c.CertificateFile == "" || c.PrivateKeyFile == "") {
		return fmt.Errorf("opcua: security policy %s needs a certificate and a private key", c.SecurityPolicy)
	}
	if c.Payload == "" {
		c.Payload = PayloadJSON
	}
	if c.Payload != PayloadJSON && c.Payload != PayloadRaw {
		return fmt.Errorf("opcua: unknown payload format %q (json, raw)", c.Payload)
	}
	if c.StateTopic == "" {
		c.StateTopic = "$SYS/opcua/" + name + "/state"
	}
	if topics.ValidateName([]byte(c.StateTopic)) != nil {
		return fmt.Errorf("opcua: invalid state topic %q", c.StateTopic)
	}
	if c.PublishingInterval <= 0 {
		c.PublishingInterval = DefaultPublishingInterval
	}
	if c.QueueSize == 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.ReconnectMin <= 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax <= 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	c.ReconnectMax = max(c.ReconnectMax, c.ReconnectMin)
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	return nil
}

// CheckNodeID reports whether s is a node id as NodeMap.NodeID describes.
func CheckNodeID(s string) error {
	if s == "" {
		return errors.New("empty node id")
	}
	var ns []string
	if rest, ok := strings.CutPrefix(s, "nsu="); ok {
		uri, _, _ := strings.Cut(rest, ";")
		ns = []string{"", uri}
	}
	if _, err := ua.ParseExpandedNodeID(s, ns); err != nil {
		return fmt.Errorf("node id %q: %v", s, err)
	}
	return nil
}

// resolveNodeID parses s, looking a namespace URI up in the server's
// NamespaceArray.
func resolveNodeID(s string, namespaces []string) (*ua.NodeID, error) {
	if namespaces == nil {
		namespaces = []string{}
	}
	x, err := ua.ParseExpandedNodeID(s, namespaces)
	if err != nil {
		return nil, err
	}
	return x.NodeID, nil
}

// CheckEndpoint reports whether url is an opc.tcp URL with a host.
func CheckEndpoint(url string) error {
	rest, ok := strings.CutPrefix(url, "opc.tcp://")
	if !ok {
		return fmt.Errorf("%q does not start with opc.tcp://", url)
	}
	hostport, _, _ := strings.Cut(rest, "/")
	if hostport == "" {
		return fmt.Errorf("%q has no host", url)
	}
	if strings.Contains(hostport, ":") {
		if _, port, err := net.SplitHostPort(hostport); err != nil || port == "" {
			return fmt.Errorf("%q: bad host:port %q", url, hostport)
		}
	}
	return nil
}

// endpointAddr is the net.Addr of client mode: the server's URL.
type endpointAddr string

func (a endpointAddr) Network() string { return "opc.tcp" }
func (a endpointAddr) String() string  { return string(a) }

// Name returns the listener's name.
func (c *Client) Name() string { return c.name }

// Addr returns the endpoint client mode connects to (it listens nowhere).
func (c *Client) Addr() net.Addr { return endpointAddr(c.cfg.Endpoint) }

// Stats returns the counters of client mode.
func (c *Client) Stats() ClientStats {
	c.mu.Lock()
	state := "down"
	if c.up {
		state = "up"
	}
	c.mu.Unlock()
	return ClientStats{
		State:         state,
		Connects:      c.connects.Load(),
		DataChanges:   c.changes.Load(),
		Published:     c.published.Load(),
		PublishErrors: c.pubErrors.Load(),
		Writes:        c.writes.Load(),
		WriteErrors:   c.writeErrors.Load(),
	}
}

// Serve connects to the server, and reconnects with backoff whenever the
// connection is lost, until Close. h must be the broker.
func (c *Client) Serve(h listeners.Handler) error {
	b, ok := h.(host)
	if !ok {
		return fmt.Errorf("opcua: listener %q: the handler %T has no NewClient: register it with broker.WithListener", c.name, h)
	}
	c.mu.Lock()
	if c.closed || c.serving {
		c.mu.Unlock()
		return nil
	}
	c.serving = true
	c.mu.Unlock()
	defer close(c.served)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()

	actx, acancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	bc, err := b.NewClient(actx, c.cfg.Identity.credentials(c.name))
	acancel()
	if err != nil {
		return fmt.Errorf("opcua: listener %q: the broker refused its identity: %w", c.name, err)
	}
	defer bc.Close()
	hp, _ := h.(hostPublisher)
	st := &stateTopic{topic: c.cfg.StateTopic, bc: bc, host: hp, log: c.log, listener: c.name}
	st.publish(ctx, "down") // overwrites what a previous run retained

	for i, n := range c.cfg.Nodes {
		if n.CommandTopic == "" {
			continue
		}
		cancelSub, err := bc.Subscribe(n.CommandTopic, 1, func(m *broker.Message) { c.command(ctx, bc, i, m) })
		if err != nil {
			c.log.Error("opcua: cannot subscribe to the command topic", "listener", c.name, "topic", n.CommandTopic, "err", err)
			continue
		}
		defer cancelSub()
	}

	delay := c.cfg.ReconnectMin
	failing := false // a failure was logged at Warn since the last session
	for ctx.Err() == nil {
		connected, err := c.session(ctx, bc, st)
		if ctx.Err() != nil {
			break
		}
		if connected {
			delay, failing = c.cfg.ReconnectMin, false
		}
		level := slog.LevelWarn
		if failing {
			level = slog.LevelDebug // one warning per outage
		}
		failing = true
		c.log.Log(ctx, level, "opcua: connection to the server lost or refused; retrying", "listener", c.name, "endpoint", c.cfg.Endpoint, "err", err, "in", delay)
		select {
		case <-ctx.Done():
		case <-time.After(jitter(delay)):
		}
		if !connected {
			delay = min(2*delay, c.cfg.ReconnectMax)
		}
	}
	return nil
}

// jitter spreads d by up to a fifth either way, so that many gateways do
// not reconnect in step.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()-0.5)*0.4*float64(d))
}

// Close ends the connection and stops reconnecting; it waits for Serve.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	serving := c.serving
	close(c.stop)
	c.mu.Unlock()
	if serving {
		<-c.served
	}
	return nil
}

// stateTopic publishes the connection state.
type stateTopic struct {
	topic    string
	bc       *broker.Client
	host     hostPublisher
	log      *slog.Logger
	listener string
}

func (s *stateTopic) publish(ctx context.Context, state string) {
	var err error
	if strings.HasPrefix(s.topic, "$") && s.host != nil {
		err = s.host.Publish(s.topic, []byte(state), 1, true)
	} else {
		_, err = s.bc.Publish(ctx, &broker.Message{Topic: s.topic, Payload: []byte(state), QoS: 1, Retain: true, PayloadUTF8: true})
	}
	if err != nil && !errors.Is(err, broker.ErrClosed) {
		s.log.Warn("opcua: cannot publish the state", "listener", s.listener, "topic", s.topic, "err", err)
	}
}
