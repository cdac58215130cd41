package coap

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"net"
	"sync"
	"time"

	dtlsserver "github.com/plgd-dev/go-coap/v3/dtls/server"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/blockwise"
	"github.com/plgd-dev/go-coap/v3/options"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
	udpserver "github.com/plgd-dev/go-coap/v3/udp/server"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners"
)

// Broker is what Serve needs of its Handler: a way to act as an
// authenticated identity. *broker.Broker implements it.
type Broker interface {
	NewClient(ctx context.Context, creds *broker.Credentials) (*broker.Client, error)
}

// Listener serves CoAP over UDP and bridges it to the broker (see the
// package documentation for the resource tree).
type Listener struct {
	name string
	cfg  config
	szx  blockwise.SZX // cfg.blockSize as a block size exponent
	t    transport
	tick time.Duration

	stop     chan struct{} // closed by halt: ends the periodic runner
	stopOnce sync.Once
	done     chan struct{}  // closed when Serve has returned
	wg       sync.WaitGroup // the periodic runner and deferred deregistrations

	mu      sync.Mutex // guards the fields below
	b       Broker
	peers   map[*udpclient.Conn]*peer
	serving bool
	closing bool
}

// New listens on the UDP address ("127.0.0.1:5683", ":0" for a random
// port) and names the listener name ("coap" when empty). Register it with
// broker.WithListener; its Serve needs the *broker.Broker as Handler.
func New(name, address string, opts ...Option) (*Listener, error) {
	if name == "" {
		name = "coap"
	}
	cfg := newConfig(opts)
	szx, err := blockSZX(cfg.blockSize)
	if err != nil {
		return nil, err
	}
	l := &Listener{
		name:  name,
		cfg:   cfg,
		szx:   szx,
		tick:  min(max(cfg.ackTimeout/8, 10*time.Millisecond), 250*time.Millisecond),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		peers: make(map[*udpclient.Conn]*peer),
	}
	sopts := []serverOption{
		options.WithHandlerFunc(l.handle),
		options.WithOnNewConn(l.newPeer),
		options.WithRequestMonitor(l.inspect),
		options.WithPeriodicRunner(l.runPeriodic),
		options.WithBlockwise(true, szx, blockTransferTimeout),
		options.WithBlockwiseReceivingMessagesCacheMaxEntries(2),
		options.WithTransmission(1, cfg.ackTimeout, uint32(cfg.maxRetransmit)),
		options.WithErrors(func(err error) { l.cfg.log.Debug("coap", "listener", name, "err", err) }),
		inactivityOption{l.newMonitor},
	}
	if cfg.dtls != nil {
		l.t, err = listenDTLS(address, cfg.dtls, sopts)
	} else {
		l.t, err = listenUDP(address, sopts)
	}
	if err != nil {
		return nil, err
	}
	return l, nil
}

// blockTransferTimeout is how long a block-wise transfer's state is kept
// without progress: the blocks of an upload, or a notification's body
// while the client fetches its blocks.
const blockTransferTimeout = 30 * time.Second

// blockSZX returns the block size exponent of a block size in bytes.
func blockSZX(size int) (blockwise.SZX, error) {
	if size < 16 || size > 1024 || size&(size-1) != 0 {
		return 0, fmt.Errorf("coap: block size %d: must be a power of two from 16 to 1024", size)
	}
	return blockwise.SZX(bits.TrailingZeros(uint(size)) - 4), nil
}

// Name returns the listener's name.
func (l *Listener) Name() string { return l.name }

// Addr returns the UDP address it listens on.
func (l *Listener) Addr() net.Addr { return l.t.addr }

// Serve answers CoAP requests until Close. h must implement Broker (the
// *broker.Broker does); requests act through clients it makes.
func (l *Listener) Serve(h listeners.Handler) error {
	b, ok := h.(Broker)
	if !ok {
		return fmt.Errorf("coap: listener %q: handler %T cannot make clients (it needs NewClient, as *broker.Broker has)", l.name, h)
	}
	l.mu.Lock()
	if l.closing {
		l.mu.Unlock()
		return nil
	}
	if l.serving {
		l.mu.Unlock()
		return errors.New("coap: listener already serving")
	}
	l.serving, l.b = true, b
	l.mu.Unlock()
	defer close(l.done)

	err := l.t.serve()
	// Serve has closed every peer; their observations ended with them. If
	// it failed rather than being closed, the periodic runner still runs.
	l.halt()
	l.wg.Wait()
	return err
}

// halt stops the periodic runner.
func (l *Listener) halt() { l.stopOnce.Do(func() { close(l.stop) }) }

// Close ends every observation (each observer gets a final 5.03, RFC 7641
// §3.2), stops answering, closes the socket and every broker client, and
// returns once Serve has returned.
func (l *Listener) Close() error {
	l.mu.Lock()
	if l.closing {
		serving := l.serving
		l.mu.Unlock()
		if serving {
			<-l.done
		}
		return nil
	}
	l.closing = true
	serving := l.serving
	peers := make([]*peer, 0, len(l.peers))
	for _, p := range l.peers {
		peers = append(peers, p)
	}
	l.mu.Unlock()

	l.halt()
	for _, p := range peers {
		p.endObservations(true)
	}
	l.t.stop()
	err := l.t.close()
	if serving || errors.Is(err, net.ErrClosed) {
		err = nil // Stop closed it
	}
	if serving {
		<-l.done
	}
	return err
}

// runPeriodic is go-coap's periodic runner: it checks retransmissions and
// inactivity every tick (go-coap's own runner ticks every 4 s, too coarse
// for retransmission, and outlives the server).
func (l *Listener) runPeriodic(f func(now time.Time) bool) {
	l.wg.Go(func() {
		t := time.NewTicker(l.tick)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case now := <-t.C:
				if !f(now) {
					return
				}
			}
		}
	})
}

// newPeer is called by go-coap for the first datagram of a new remote
// address.
func (l *Listener) newPeer(cc *udpclient.Conn) {
	p := &peer{l: l, cc: cc, remote: cc.RemoteAddr(), identity: pskIdentity(cc.NetConn())}
	cc.SetContextValue(peerKey{}, p)
	l.mu.Lock()
	l.peers[cc] = p
	l.mu.Unlock()
	cc.AddOnClose(func() {
		l.mu.Lock()
		delete(l.peers, cc)
		l.mu.Unlock()
		p.close()
	})
}

// peerKey is the key of a connection's peer in its context.
type peerKey struct{}

// peerOf returns the state of the peer behind cc.
func (l *Listener) peerOf(cc *udpclient.Conn) *peer {
	p, _ := cc.Context().Value(peerKey{}).(*peer)
	return p
}

// broker returns the broker Serve was given.
func (l *Listener) broker() Broker {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b
}

// isClosing reports whether Close has begun.
func (l *Listener) isClosing() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closing
}

// inspect sees every datagram of a peer before go-coap handles it (its
// RequestMonitor): an ACK or Reset may answer a notification (RFC 7641
// §3.6, see transmit), and a block-wise upload is refused as soon as it grows past the payload
// limit, before go-coap buffers more of it.
func (l *Listener) inspect(cc *udpclient.Conn, m *pool.Message) (drop bool, err error) {
	p := l.peerOf(cc)
	if p == nil {
		return false, nil
	}
	p.received(m.ControlMessage())
	if t := m.Type(); t == message.Reset || t == message.Acknowledgement {
		p.answered(m.MessageID(), t == message.Reset)
		return false, nil
	}
	if !isRequest(m.Code()) {
		return false, nil
	}
	size := int64(0)
	if v, err := m.GetOptionUint32(message.Block1); err == nil {
		if szx, num, _, err := blockwise.DecodeBlockOption(v); err == nil {
			size = num * szx.Size()
		}
	}
	if v, err := m.GetOptionUint32(message.Size1); err == nil {
		size = max(size, int64(v))
	}
	if size > int64(l.cfg.maxPayload) {
		l.refuseTooLarge(cc, m)
		return true, nil
	}
	return false, nil
}

// inactivityOption installs the listener's own inactivity monitor in
// go-coap's server configuration (options.WithInactivityMonitor would lose
// the per-connection state it needs).
type inactivityOption struct {
	create func() udpclient.InactivityMonitor
}

// UDPServerApply implements udpserver.Option.
func (o inactivityOption) UDPServerApply(cfg *udpserver.Config) {
	cfg.CreateInactivityMonitor = o.create
}

// DTLSServerApply implements dtlsserver.Option.
func (o inactivityOption) DTLSServerApply(cfg *dtlsserver.Config) {
	cfg.CreateInactivityMonitor = o.create
}
