package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/storage/etcd"
	"github.com/ternmq/broker/topics"
)

// ErrNotStarted is returned by Node methods that need Start first.
var ErrNotStarted = errors.New("cluster: node not started")

// Node is one broker's membership of a cluster. Pass it to
// broker.WithHooks (with broker.WithoutWillRestore), then call Start
// with the broker before the broker's own Start; the broker's Shutdown
// (or Node.Close) leaves the cluster.
type Node struct {
	cfg Config
	log *slog.Logger

	b       *broker.Broker
	cli     *clientv3.Client
	ownsCli bool
	ln      net.Listener
	addr    string // advertised link address
	started time.Time
	running atomic.Bool
	clock   coarseClock // deadlines of forwards (tick.go)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	lease atomic.Int64 // clientv3.LeaseID of the node's registration

	rmu      sync.Mutex                     // guards local, sessSubs, dirty, held, adopted
	local    map[string]*localRoute         // this node's routes by filter
	lshared  *topics.Trie[string, struct{}] // the shared filters of local (key ""), to match
	sessSubs map[string]map[string]struct{}
	dirty    map[string]int      // client ids to reconcile, with checks left
	held     map[string]struct{} // persistent sessions recorded under held/ (adopt.go)
	adopted  map[string]struct{} // sessions adopted from dead members, their clients not back yet

	store *etcd.Store // the shared store (wills of dead members' clients)

	remMu     sync.Mutex                     // guards remoteSet
	remoteSet map[string]map[string]struct{} // node → filters, mirrored in remote
	remote    *topics.Trie[string, struct{}] // remote routes: key node id

	revMu   sync.Mutex
	applied int64         // last etcd revision of routes applied to remote
	revCh   chan struct{} // closed when applied advances

	pmu   sync.Mutex
	peers map[string]*peer // other live members by id

	inMu    sync.Mutex
	inbound map[net.Conn]struct{}

	stats counters
	sums  clusterSums // cluster-wide counts for $SYS (sysstats.go)
	close sync.Once
}

// New validates cfg and returns a Node that is not started yet.
func New(cfg Config) (*Node, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	n := &Node{
		cfg:       cfg,
		log:       cfg.Logger.With("node", cfg.NodeID),
		local:     make(map[string]*localRoute),
		lshared:   topics.NewTrie[string, struct{}](),
		sessSubs:  make(map[string]map[string]struct{}),
		dirty:     make(map[string]int),
		held:      make(map[string]struct{}),
		adopted:   make(map[string]struct{}),
		remoteSet: make(map[string]map[string]struct{}),
		remote:    topics.NewTrie[string, struct{}](),
		revCh:     make(chan struct{}),
		peers:     make(map[string]*peer),
		inbound:   make(map[net.Conn]struct{}),
	}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	return n, nil
}

// ID returns the node's identifier.
func (n *Node) ID() string { return n.cfg.NodeID }

// LinkAddr returns the address other nodes dial (after Start).
func (n *Node) LinkAddr() string { return n.addr }

// Start joins the cluster as b: it connects to etcd, listens for links,
// registers the node under its lease, loads members and routes and
// watches them. Call it after broker.New and before b.Start, so that no
// subscription is taken before the node routes. ctx bounds the start.
// Build b WithoutWillRestore: the node publishes, after Start, the stored
// wills of the clients of its previous broker instances only (wills.go),
// where the broker would publish every will of the shared store, those of
// clients connected to other nodes too.
func (n *Node) Start(ctx context.Context, b *broker.Broker) error {
	if b == nil {
		return errors.New("cluster: Start needs the broker")
	}
	n.b = b
	if n.cfg.Client != nil {
		n.cli = n.cfg.Client
	} else {
		cli, err := clientv3.New(clientv3.Config{
			Endpoints:   n.cfg.Endpoints,
			DialTimeout: n.cfg.DialTimeout,
			Username:    n.cfg.Username,
			Password:    n.cfg.Password,
			TLS:         n.cfg.TLS,
			Logger:      zap.NewNop(),
		})
		if err != nil {
			return fmt.Errorf("cluster: connecting to etcd %v: %w", n.cfg.Endpoints, err)
		}
		n.cli, n.ownsCli = cli, true
	}
	ln, err := net.Listen("tcp", n.cfg.LinkAddress)
	if err != nil {
		n.closeClient()
		return fmt.Errorf("cluster: link listener: %w", err)
	}
	if n.cfg.LinkTLS != nil {
		ln = tls.NewListener(ln, n.cfg.LinkTLS)
	}
	n.ln = ln
	n.addr = n.cfg.Advertise
	if n.addr == "" {
		n.addr = ln.Addr().String()
	}
	n.started = time.Now()
	n.store = etcd.NewFromClient(n.cli, n.cfg.StoragePrefix)
	prev, err := n.previousBrokers(ctx) // before register adds this one
	if err != nil {
		_ = ln.Close()
		n.closeClient()
		return err
	}
	if err := n.register(ctx, brokersValue(prev, b.ID())); err != nil {
		_ = ln.Close()
		n.closeClient()
		return err
	}
	if err := n.loadRoutes(ctx); err != nil {
		n.revoke()
		_ = ln.Close()
		n.closeClient()
		return err
	}
	if err := n.loadMembers(ctx); err != nil {
		n.revoke()
		_ = ln.Close()
		n.closeClient()
		return err
	}
	n.running.Store(true)
	n.rehold(ctx)
	for _, id := range prev {
		if id == b.ID() {
			continue
		}
		// The broker left the stored wills alone (WithoutWillRestore):
		// those of the clients of this node's previous instances, if they
		// died with them connected, are published now, once; an instance
		// leaves the list when all of its are done.
		n.wg.Go(func() {
			if n.publishWillsOf(id) {
				n.forgetBroker(id)
			}
		})
	}
	n.wg.Go(func() { n.clock.run(n.ctx) })
	n.wg.Go(n.acceptLoop)
	n.wg.Go(n.sweepLoop)
	n.wg.Go(n.watchClaims)
	n.wg.Go(n.watchRetained)
	if n.cfg.StatsInterval > 0 {
		n.wg.Go(n.statsLoop)
	}
	n.log.Info("cluster node started", "link", n.addr)
	return nil
}

// Close leaves the cluster: the lease is revoked (the node's routes
// disappear from every node at once), links are closed and every
// goroutine of the node has returned. The broker's Shutdown calls it
// through the LifecycleHook; calling it again is a no-op.
func (n *Node) Close() error {
	n.close.Do(func() {
		n.running.Store(false)
		n.revoke()
		n.cancel()
		if n.ln != nil {
			_ = n.ln.Close()
		}
		n.inMu.Lock()
		for c := range n.inbound {
			_ = c.Close()
		}
		n.inMu.Unlock()
		n.pmu.Lock()
		ps := make([]*peer, 0, len(n.peers))
		for _, p := range n.peers {
			ps = append(ps, p)
		}
		n.peers = map[string]*peer{}
		n.pmu.Unlock()
		for _, p := range ps {
			p.stop(errNodeStopping)
		}
		n.wg.Wait()
		if n.store != nil {
			_ = n.store.Close()
		}
		n.closeClient()
	})
	return nil
}

func (n *Node) closeClient() {
	if n.ownsCli && n.cli != nil {
		_ = n.cli.Close()
	}
}

// OnStarted implements broker.LifecycleHook.
func (n *Node) OnStarted() {}

// OnStopping implements broker.LifecycleHook: the node leaves the cluster
// before the broker disconnects its clients, so that other nodes stop
// forwarding here.
func (n *Node) OnStopping() { _ = n.Close() }

// OnStopped implements broker.LifecycleHook.
func (n *Node) OnStopped() {}

// Stats counts what the node did since Start.
type Stats struct {
	Forwarded   uint64 // message frames sent to other nodes
	Received    uint64 // message frames received and published here
	Dropped     uint64 // QoS 0 frames dropped on a full link queue
	Refused     uint64 // QoS 1/2 publishes refused: a node did not accept in time
	EtcdWrites  uint64 // etcd puts, deletes and lease grants
	RoutesLocal int    // filters this node has a route for
	RoutesTotal int    // remote routes known (node, filter pairs)
	Peers       int    // other live members
	Adopted     int    // sessions of dead members this node holds, routed, their clients not back yet
	// SharedRepicked counts the shared groups of QoS 1/2 messages published
	// here that the node picked for them could not serve (its members had
	// just left) and that were given to another node.
	SharedRepicked uint64
	// SharedLost counts those for which no other node was left: the group
	// missed the message.
	SharedLost uint64
}

type counters struct {
	forwarded, received, dropped, refused, etcdWrites atomic.Uint64
	sharedRepicked, sharedLost                        atomic.Uint64
}

// Stats returns the node's counters.
func (n *Node) Stats() Stats {
	st := Stats{
		Forwarded:  n.stats.forwarded.Load(),
		Received:   n.stats.received.Load(),
		Dropped:    n.stats.dropped.Load(),
		Refused:    n.stats.refused.Load(),
		EtcdWrites: n.stats.etcdWrites.Load(),

		SharedRepicked: n.stats.sharedRepicked.Load(),
		SharedLost:     n.stats.sharedLost.Load(),
	}
	n.rmu.Lock()
	for _, lr := range n.local {
		if lr.committed {
			st.RoutesLocal++
		}
	}
	st.Adopted = len(n.adopted)
	n.rmu.Unlock()
	n.remMu.Lock()
	for _, fs := range n.remoteSet {
		st.RoutesTotal += len(fs)
	}
	n.remMu.Unlock()
	n.pmu.Lock()
	st.Peers = len(n.peers)
	n.pmu.Unlock()
	return st
}

// key returns the etcd key of parts under the cluster prefix.
func (n *Node) key(parts ...string) string {
	k := n.cfg.Prefix
	for _, p := range parts {
		k += p
	}
	return k
}
