package coap

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message/codes"
	coapnet "github.com/plgd-dev/go-coap/v3/net"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
	"github.com/ternmq/broker"
)

// maxPeerClients bounds the broker clients cached per peer: one per set of
// credentials it used. Requests with further credentials get a client for
// that request only.
const maxPeerClients = 4

// recentMIDs is how many notification message IDs a peer remembers, to
// match a Reset to the observation it rejects.
const recentMIDs = 64

// peer is the state of one remote address: go-coap's connection, the
// broker clients its requests act through, and its observations.
type peer struct {
	l        *Listener
	cc       *udpclient.Conn
	remote   net.Addr
	identity string // the PSK identity of a DTLS peer

	mu        sync.Mutex // guards the fields below
	clients   map[credentials]*broker.Client
	observers map[string]*observer // by token
	mids      [recentMIDs]midEntry // ring of recent notifications
	next      int
	pending   map[int32]chan bool // confirmable notifications awaiting ACK (false) or Reset (true)
	control   *coapnet.ControlMessage
	closed    bool
}

type midEntry struct {
	mid int32
	o   *observer
}

// credentials are what a request authenticates with.
type credentials struct {
	username    string
	password    string
	hasPassword bool
}

// client returns a broker client for cr: the peer's cached one, or a new
// one. release must be called when the caller is done with it (it closes
// clients that are not cached).
func (p *peer) client(ctx context.Context, cr credentials) (c *broker.Client, release func(), err error) {
	p.mu.Lock()
	if c := p.clients[cr]; c != nil {
		p.mu.Unlock()
		return c, func() {}, nil
	}
	p.mu.Unlock()

	b := p.l.broker()
	if b == nil || p.l.isClosing() {
		return nil, nil, broker.ErrClosed
	}
	creds := &broker.Credentials{ClientInfo: broker.ClientInfo{
		Username: cr.username,
		Listener: p.l.name,
		Remote:   p.remote,
	}}
	if cr.hasPassword {
		creds.Password = []byte(cr.password)
	}
	c, err = b.NewClient(ctx, creds)
	if err != nil {
		return nil, nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		c.Close()
		return nil, nil, broker.ErrClosed
	case p.clients[cr] != nil:
		c.Close()
		return p.clients[cr], func() {}, nil
	case len(p.clients) < maxPeerClients:
		if p.clients == nil {
			p.clients = make(map[credentials]*broker.Client)
		}
		p.clients[cr] = c
		return c, func() {}, nil
	}
	return c, c.Close, nil
}

// observing reports whether the peer holds an observation.
func (p *peer) observing() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.observers) > 0
}

// observer returns the observation registered with token, or nil.
func (p *peer) observer(token []byte) *observer {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.observers[string(token)]
}

// largeNotification returns the most recent notification too large for
// one block among the peer's observations of filter, and whether its
// observation is a wildcard one.
func (p *peer) largeNotification(filter string) (*largeNote, bool) {
	p.mu.Lock()
	obs := make([]*observer, 0, len(p.observers))
	for _, o := range p.observers {
		if o.filter == filter {
			obs = append(obs, o)
		}
	}
	p.mu.Unlock()
	var best *largeNote
	wildcard := false
	for _, o := range obs {
		if n := o.largeNotification(); n != nil && (best == nil || n.expires.After(best.expires)) {
			best, wildcard = n, o.wildcard
		}
	}
	return best, wildcard
}

// add registers o unless the peer is closed or holds its maximum of
// observations.
func (p *peer) add(o *observer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed || len(p.observers) >= p.l.cfg.maxObservers {
		return false
	}
	if p.observers == nil {
		p.observers = make(map[string]*observer)
	}
	p.observers[o.key] = o
	return true
}

// remove forgets o (if still registered).
func (p *peer) remove(o *observer) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.observers[o.key] == o {
		delete(p.observers, o.key)
	}
	for i := range p.mids {
		if p.mids[i].o == o {
			p.mids[i] = midEntry{}
		}
	}
}

// endObservations ends every observation of the peer; with final set,
// each observer is told with a 5.03 notification (RFC 7641 §3.2: a
// response without Observe ends it) before the listener closes.
func (p *peer) endObservations(final bool) {
	p.mu.Lock()
	all := make([]*observer, 0, len(p.observers))
	for _, o := range p.observers {
		all = append(all, o)
	}
	p.mu.Unlock()
	for _, o := range all {
		o.cancel()
	}
	for _, o := range all {
		o.end()
		if final {
			o.sendFinal(codes.ServiceUnavailable, "server shutting down")
		}
	}
}

// close ends the peer once go-coap has closed its connection: its
// observations end and its broker clients are closed.
func (p *peer) close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.endObservations(false)
	p.mu.Lock()
	clients := p.clients
	p.clients = nil
	p.mu.Unlock()
	for _, c := range clients {
		c.Close()
	}
}

// monitor is a peer's inactivity monitor. go-coap's default closes a
// connection after 16 s without a datagram, which silently ends its
// observations; this one forgets a silent peer only when it observes
// nothing, and otherwise checks it is still there with a CoAP ping
// (RFC 7252 §4.3), dropping it if the ping goes unanswered.
type monitor struct {
	l      *Listener
	last   atomic.Int64 // unix nanoseconds of the last datagram from the peer
	pingAt atomic.Int64 // when the outstanding ping was sent; 0 if none
}

func (l *Listener) newMonitor() udpclient.InactivityMonitor {
	m := &monitor{l: l}
	m.Notify()
	return m
}

// Notify records a datagram from the peer.
func (m *monitor) Notify() {
	m.last.Store(time.Now().UnixNano())
	m.pingAt.Store(0)
}

// CheckInactivity runs on every tick of the periodic runner.
func (m *monitor) CheckInactivity(now time.Time, cc *udpclient.Conn) {
	t := now.UnixNano()
	if t-m.last.Load() < int64(m.l.cfg.inactivity) {
		return
	}
	p := m.l.peerOf(cc)
	if p == nil || !p.observing() {
		_ = cc.Close()
		return
	}
	if at := m.pingAt.Load(); at != 0 {
		if t-at > int64(m.l.cfg.maxTransmitWait()) {
			m.l.cfg.log.Debug("coap: observer gone (ping unanswered)", "listener", m.l.name, "remote", p.remote.String())
			_ = cc.Close()
		}
		return
	}
	m.pingAt.Store(t)
	if _, err := cc.AsyncPing(func() {}); err != nil {
		m.l.cfg.log.Debug("coap: ping", "listener", m.l.name, "remote", p.remote.String(), "err", err)
	}
}
