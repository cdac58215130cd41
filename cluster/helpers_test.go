package cluster

import (
	"cmp"
	"context"
	"fmt"
	"github.com/ternmq/broker/internal/etcdtest"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/storage/etcd"
)

// endpoint is the client URL of the embedded etcd the tests share.
var endpoint string

func TestMain(m *testing.M) {
	os.Exit(runWithEtcd(m))
}

func runWithEtcd(m *testing.M) int {
	ep, stop, err := etcdtest.StartServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "starting etcd:", err)
		return 1
	}
	defer stop()
	endpoint = ep
	return m.Run()
}

var prefixes atomic.Int64

// testCluster is a few brokers sharing one etcd prefix, each with a Node.
type testCluster struct {
	t       testing.TB
	prefix  string
	nodes   []*testNode
	ttl     time.Duration
	endpnts []string
	etcdTO  time.Duration         // Config.EtcdTimeout; 0: the default
	fwdTO   time.Duration         // Config.ForwardTimeout; 0: the default
	hooks   func(id string) []any // more hooks for node id's broker
	// statsEvery and sysEvery are Config.StatsInterval and the broker's
	// $SYS interval; 0: both off (a stats report is an etcd write, which
	// tests counting writes do not expect).
	statsEvery, sysEvery time.Duration
}

type testNode struct {
	id    string
	b     *broker.Broker
	n     *Node
	addr  string // MQTT
	store *etcd.Store
	once  sync.Once
}

// newCluster starts size nodes with a lease TTL long enough that a loaded
// machine does not lose a lease by accident.
func newCluster(t testing.TB, size int) *testCluster {
	return newClusterTTL(t, size, 5*time.Second)
}

// newClusterTTL starts size nodes whose leases last ttl: short for the
// tests that wait for a crashed node's lease to expire.
func newClusterTTL(t testing.TB, size int, ttl time.Duration) *testCluster {
	t.Helper()
	return (&testCluster{}).init(t, size, ttl)
}

// newClusterHooks starts size nodes, the broker of each also given the
// hooks returns for its id.
func newClusterHooks(t testing.TB, size int, hooks func(id string) []any) *testCluster {
	t.Helper()
	return (&testCluster{hooks: hooks}).init(t, size, 5*time.Second)
}

// init starts size nodes of tc, whose optional fields are set.
func (tc *testCluster) init(t testing.TB, size int, ttl time.Duration) *testCluster {
	t.Helper()
	tc.t, tc.prefix, tc.ttl, tc.endpnts = t, fmt.Sprintf("/ct/%d/", prefixes.Add(1)), ttl, []string{endpoint}
	for i := range size {
		tc.start(fmt.Sprintf("n%d", i))
	}
	tc.waitMesh()
	return tc
}

// start starts a node (again, after a stop) and returns it.
func (tc *testCluster) start(id string) *testNode {
	t := tc.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	store, err := etcd.New(ctx, etcd.Config{Endpoints: tc.endpnts, Prefix: tc.prefix})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("CLUSTER_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	n, err := New(Config{
		NodeID: id, LinkAddress: "127.0.0.1:0", Endpoints: tc.endpnts,
		Prefix: tc.prefix + "cluster/", StoragePrefix: tc.prefix,
		LeaseTTL: tc.ttl, Logger: log, RouteGrace: 300 * time.Millisecond, EtcdTimeout: tc.etcdTO,
		ForwardTimeout: tc.fwdTO,
		StatsInterval:  cmp.Or(tc.statsEvery, -1),
	})
	if err != nil {
		t.Fatal(err)
	}
	l, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opts := []broker.Option{broker.WithListener(l), broker.WithStorage(store), broker.WithHooks(n), broker.WithoutWillRestore(), broker.WithLogger(log), broker.WithSysInterval(tc.sysEvery)}
	if tc.hooks != nil {
		if hs := tc.hooks(id); len(hs) > 0 {
			opts = append(opts, broker.WithHooks(hs...))
		}
	}
	b, err := broker.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(ctx, b); err != nil {
		_ = b.Close()
		t.Fatal(err)
	}
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	tn := &testNode{id: id, b: b, n: n, addr: l.Addr().String(), store: store}
	t.Cleanup(tn.stop)
	for i, old := range tc.nodes {
		if old.id == id {
			tc.nodes[i] = tn
			return tn
		}
	}
	tc.nodes = append(tc.nodes, tn)
	return tn
}

// stop shuts the node down gracefully (it leaves the cluster).
func (tn *testNode) stop() {
	tn.once.Do(func() { _ = tn.b.Close() })
}

// crash stops the node as a crash would for the others: its lease is not
// revoked, so they see it leave only when the lease expires.
func (tn *testNode) crash() {
	tn.once.Do(func() {
		tn.n.lease.Store(0) // Close finds no lease to revoke
		_ = tn.b.Close()
	})
}

// waitMesh waits until every node sees every other and its link is up.
func (tc *testCluster) waitMesh() {
	tc.t.Helper()
	checkFor(tc.t, 10*time.Second, func() error {
		for _, tn := range tc.nodes {
			ps := tn.n.allPeers()
			if len(ps) != len(tc.nodes)-1 {
				return fmt.Errorf("%s sees %d peers, want %d", tn.id, len(ps), len(tc.nodes)-1)
			}
			for _, p := range ps {
				if !p.isUp() {
					return fmt.Errorf("%s: link to %s not up", tn.id, p.m.ID)
				}
			}
		}
		return nil
	})
}

// checkFor polls fn until it returns nil or the timeout passes.
func checkFor(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// client is a paho.golang (MQTT 5) client that records what it receives.
type client struct {
	*paho.Client
	t    testing.TB
	mu   sync.Mutex
	msgs []*paho.Publish
}

func dial(t testing.TB, addr, id string, cp *paho.Connect) (*client, *paho.Connack) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{t: t}
	c.Client = paho.NewClient(paho.ClientConfig{
		ClientID: id,
		Conn:     nc,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			c.mu.Lock()
			c.msgs = append(c.msgs, r.Packet)
			c.mu.Unlock()
			return true, nil
		}},
	})
	if cp == nil {
		cp = &paho.Connect{CleanStart: true}
	}
	cp.ClientID, cp.KeepAlive = id, 30
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, cp)
	if err != nil {
		t.Fatalf("connect %s to %s: %v", id, addr, err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c, ack
}

func (c *client) subscribe(filter string, qos byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: qos}}})
	if err != nil {
		c.t.Fatalf("subscribe %q: %v", filter, err)
	}
	if sa.Reasons[0] >= 0x80 {
		c.t.Fatalf("subscribe %q refused: %#x", filter, sa.Reasons[0])
	}
}

func (c *client) publish(topic string, payload string, qos byte, retain bool) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Publish(ctx, &paho.Publish{Topic: topic, Payload: []byte(payload), QoS: qos, Retain: retain})
	if err != nil {
		c.t.Fatalf("publish %q: %v", topic, err)
	}
	if resp != nil && resp.ReasonCode >= 0x80 {
		c.t.Fatalf("publish %q refused: %#x", topic, resp.ReasonCode)
	}
}

// waitFor waits until at least n messages arrived and returns them.
func (c *client) waitFor(n int) []*paho.Publish {
	c.t.Helper()
	checkFor(c.t, 10*time.Second, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.msgs) < n {
			return fmt.Errorf("%d messages, want %d", len(c.msgs), n)
		}
		return nil
	})
	return c.received()
}

// until waits for a message with payload end on topic and returns the
// messages before it. The sentinel travels the same path as they do, so a
// duplicate or a lost message shows in the count.
func (c *client) until(topic, end string) []*paho.Publish {
	c.t.Helper()
	var got []*paho.Publish
	checkFor(c.t, 10*time.Second, func() error {
		got = c.received()
		for i, m := range got {
			if m.Topic == topic && string(m.Payload) == end {
				got = got[:i]
				return nil
			}
		}
		return fmt.Errorf("%d messages, no %q on %s yet", len(got), end, topic)
	})
	return got
}

func (c *client) received() []*paho.Publish {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*paho.Publish(nil), c.msgs...)
}
