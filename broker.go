package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/storage/memory"
	"github.com/ternmq/broker/topics"
)

// Version is the broker version published in $SYS/broker/version.
const Version = "tern 0.1.0"

// ErrClosed is returned by Start, Publish and Subscribe after Shutdown or Close.
var ErrClosed = errors.New("broker: closed")

// Broker is an MQTT 3.1, 3.1.1 and 5.0 broker. Create it with New, start it
// with Start (or hand it connections with ServeConn), stop it with Shutdown
// or Close.
type Broker struct {
	limits    Limits
	listeners []listeners.Listener
	store     storage.Store
	authn     Authenticator
	authz     Authorizer
	metrics   Metrics
	hooks     hookSet
	feat      features
	connRate  *rate // Limits.ConnectRate
	shared    SharedStrategy
	log       *slog.Logger

	subs     *topics.Trie[subscriber, subscription]
	retained *topics.Retained[*sessions.Message]
	matches  sync.Pool // *routeState

	mu         sync.Mutex          // guards sessions, conns, closing
	sessions   map[string]*session // by client identifier
	conns      map[*conn]struct{}  // live connections
	pending    map[*conn]struct{}  // connections whose CONNECT is not handled yet
	forgetting map[string]int      // ended sessions whose stored state is being deleted (persist.go)
	locals     map[*localSub]struct{}
	closing    bool
	optErrs    []error // misused options, reported by New
	clock      Clock
	ownStore   bool // the store is the broker's own memory store: nothing outlives the broker

	host *Client // the host's own in-process Client (client.go)

	wg         sync.WaitGroup     // listener, connection and storage goroutines
	removers   chan struct{}      // semaphore of unstoreAsync goroutines
	sysStop    chan struct{}      // closed to stop the $SYS publisher
	id         string             // this broker instance, in storage claims
	claimStop  context.CancelFunc // stops watching claims (claims.go)
	started    atomic.Bool
	overBudget atomic.Bool     // above Limits.MaxQueuedBytesTotal (budget.go)
	serving    []atomic.Bool   // by listener: its Serve is running (Ready)
	acceptErrs []atomic.Uint64 // by listener: accept errors at the last Ready
	nconns     atomic.Int64
	stats      counters
	startAt    time.Time
	nextAnon   atomic.Uint64
	pollState  // idle connections without goroutines (park.go)
}

// New returns a broker configured by opts. It does not listen until Start.
func New(opts ...Option) (*Broker, error) {
	b := &Broker{
		limits:    defaultLimits.withDefaults(),
		metrics:   NoMetrics{},
		log:       slog.Default(),
		subs:      topics.NewTrie[subscriber, subscription](),
		retained:  topics.NewRetained[*sessions.Message](),
		sessions:  make(map[string]*session),
		conns:     make(map[*conn]struct{}),
		pending:   make(map[*conn]struct{}),
		pollState: pollState{parkAfter: defaultParkAfter},
		startAt:   time.Now(),
		clock:     systemClock{},
		removers:  make(chan struct{}, 256),
		feat:      features{maxQoS: 2, sysInterval: 10 * time.Second},
		id:        newBrokerID(),
	}
	b.matches.New = func() any { return new(routeState) }
	b.host = &Client{b: b, info: ClientInfo{Listener: "local", Version: packets.V5}}
	for _, o := range opts {
		o(b)
	}
	names := make(map[string]bool)
	for _, l := range b.listeners {
		if names[l.Name()] {
			b.invalid("WithListener", "two listeners named %q (names identify them in logs, metrics and ClientInfo)", l.Name())
		}
		names[l.Name()] = true
	}
	if err := errors.Join(b.optErrs...); err != nil {
		return nil, err
	}
	b.serving = make([]atomic.Bool, len(b.listeners))
	b.acceptErrs = make([]atomic.Uint64, len(b.listeners))
	b.connRate = newRate(b.limits.ConnectRate)
	if b.store == nil {
		b.store = memory.New()
		b.ownStore = true
	}
	if _, none := b.metrics.(NoMetrics); !none {
		b.store = meter(b.store, b.metrics)
	}
	// Bounded, so that an unreachable store fails New rather than hang
	// it: ten storage timeouts for the whole restore.
	rctx, cancel := context.WithTimeout(context.Background(), 10*b.limits.StorageTimeout)
	err := b.restore(rctx)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("broker: restoring from storage: %w", err)
	}
	if so, ok := b.metrics.(StatsObserver); ok {
		so.ObserveStats(b.Stats)
	}
	return b, nil
}

// Start serves every listener in the background and returns. The context
// only bounds the start itself.
func (b *Broker) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err // nothing started
	}
	b.mu.Lock()
	closing := b.closing
	b.mu.Unlock()
	if closing {
		return ErrClosed
	}
	if !b.started.CompareAndSwap(false, true) {
		return errors.New("broker: already started")
	}
	b.startClaims()
	b.sysStop = make(chan struct{})
	if b.feat.sysInterval > 0 {
		b.wg.Go(func() { b.sysLoop(b.sysStop) })
	}
	if b.limits.MaxQueuedBytesTotal > 0 {
		b.wg.Go(func() { b.budgetLoop(b.sysStop) })
	}
	for i, l := range b.listeners {
		b.serving[i].Store(true)
		b.wg.Go(func() {
			defer b.serving[i].Store(false)
			if err := l.Serve(b); err != nil {
				b.log.Error("listener stopped", "listener", l.Name(), "err", err)
			}
		})
		b.log.Debug("listening", "listener", l.Name(), "addr", l.Addr().String())
	}
	for _, h := range b.hooks.lifecycle {
		h.OnStarted()
	}
	return nil
}

// Serve starts the broker and blocks until ctx is done, then shuts down
// with a deadline of ten seconds.
func (b *Broker) Serve(ctx context.Context) error {
	if err := b.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return b.Shutdown(sctx)
}

// Listeners returns the broker's listeners (to read their addresses).
func (b *Broker) Listeners() []listeners.Listener { return b.listeners }

// Shutdown stops the broker in order: stop accepting, send DISCONNECT
// (v5: Server shutting down) to every client, wait until their deliveries
// in flight are acknowledged or ctx is done, persist session state, close
// storage. Every goroutine the broker started has returned when it returns.
func (b *Broker) Shutdown(ctx context.Context) error {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		return ErrClosed
	}
	b.closing = true
	b.mu.Unlock()
	for _, h := range b.hooks.lifecycle {
		h.OnStopping()
	}

	for _, l := range b.listeners {
		_ = l.Close()
	}
	if b.sysStop != nil {
		close(b.sysStop)
	}
	b.drainInflight(ctx)
	b.mu.Lock()
	all := make([]*conn, 0, len(b.conns))
	for c := range b.conns {
		all = append(all, c)
	}
	for c := range b.pending {
		_ = c.nc.Close() // not connected yet: nothing to say to it
	}
	b.mu.Unlock()
	var dwg sync.WaitGroup
	for _, c := range all {
		dwg.Go(func() { c.disconnect(packets.ServerShuttingDown) })
	}
	dwg.Wait()
	b.cancelLocals()
	if b.claimStop != nil {
		b.claimStop()
	}
	b.wg.Wait()
	b.stopPoller()
	b.stopTimers()
	err := b.store.Close()
	for _, h := range b.hooks.lifecycle {
		h.OnStopped()
	}
	return err
}

// Close stops the broker at once: listeners and connections are closed
// without waiting. Every goroutine the broker started has returned when it
// returns.
func (b *Broker) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.Shutdown(ctx)
	if errors.Is(err, ErrClosed) {
		return nil
	}
	return err
}

// ServeConn serves one MQTT connection until it ends; listeners call it, and
// so can a host with a transport of its own. It closes nc. On Linux, for a
// *net.TCPConn or *net.UnixConn, it returns as soon as the connection goes
// idle: the broker then waits for it without a goroutine and serves it on
// goroutines of its own (see the package documentation); Shutdown and
// Close still wait for every connection to end.
func (b *Broker) ServeConn(listener string, nc net.Conn) {
	c := newConn(b, listener, nc)
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		_ = nc.Close()
		return
	}
	if max := b.limits.MaxPendingConnections; max > 0 && len(b.pending) >= max {
		// Connections that never send CONNECT must not use up the file
		// descriptors real clients need: beyond the limit, close at once.
		b.mu.Unlock()
		b.stats.pendingRefused.Add(1)
		_ = nc.Close()
		return
	}
	b.pending[c] = struct{}{}
	b.wg.Add(1) // done when the connection ends, which a parked one may do after this returns
	b.mu.Unlock()
	c.serve()
}

// connected takes c off the pending set once its CONNECT is handled.
func (b *Broker) connected(c *conn) {
	b.mu.Lock()
	delete(b.pending, c)
	b.mu.Unlock()
}

// drainInflight waits until no delivery is in flight or ctx is done;
// clients keep being served meanwhile, so their acknowledgements arrive.
func (b *Broker) drainInflight(ctx context.Context) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for b.inflightTotal() > 0 {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (b *Broker) inflightTotal() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for c := range b.conns {
		s := c.sess
		if s == nil {
			continue
		}
		s.mu.Lock()
		n += s.inflight.Len()
		s.mu.Unlock()
	}
	return n
}
