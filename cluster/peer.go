package cluster

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// Errors of forwarding.
var (
	// errPeerGone: the member left while a message for it waited.
	errPeerGone = errors.New("cluster: node left")
	// errNodeStopping: this node is leaving the cluster.
	errNodeStopping = errors.New("cluster: node stopping")
	// errLinkDown: the link to the member is down (it is dialed again with
	// backoff).
	errLinkDown = errors.New("cluster: link down")
)

// Link states.
const (
	linkConnecting int32 = iota // never connected yet
	linkUp
	linkDown // the last dial or connection failed
)

// request is one frame to send on a link; done (buffered) receives the
// outcome when the sender waits for an ack.
type request struct {
	f         frame
	done      chan error
	abandoned atomic.Bool // the waiter gave up: do not send
	// unserved is the ack's list of the message's shared groups that the
	// other node had no member of (indices into f.msg.SharedGroups);
	// written before done receives, read after.
	unserved []uint64
}

// peer is this node's outbound link to another member: a queue of frames,
// one writer goroutine that batches them into few writes, one reader of
// acks, and a dial loop with backoff.
type peer struct {
	n     *Node
	m     Member
	queue chan *request
	state atomic.Int32
	seq   atomic.Uint64

	mu      sync.Mutex
	pending map[uint64]*request // written, waiting for an ack
	stopped error

	ctx    context.Context
	cancel context.CancelFunc
}

func newPeer(n *Node, m Member) *peer {
	p := &peer{n: n, m: m, queue: make(chan *request, n.cfg.LinkQueue), pending: make(map[uint64]*request)}
	p.ctx, p.cancel = context.WithCancel(n.ctx)
	return p
}

func (p *peer) isUp() bool { return p.state.Load() == linkUp }

// stop ends the link and fails every waiting request with err.
func (p *peer) stop(err error) {
	p.mu.Lock()
	if p.stopped == nil {
		p.stopped = err
	}
	pend := p.pending
	p.pending = map[uint64]*request{}
	p.mu.Unlock()
	p.cancel()
	for _, r := range pend {
		r.finish(err)
	}
}

func (r *request) finish(err error) {
	if r.done != nil {
		select {
		case r.done <- err:
		default:
		}
	}
}

// sendNoAck queues a QoS 0 message, nobody waiting for its ack; it is
// dropped (and counted) when the queue is full.
func (p *peer) sendNoAck(m *broker.Message) {
	select {
	case p.queue <- &request{f: frame{kind: frameMsg, seq: p.seq.Add(1), msg: m}}:
	default:
		p.n.stats.dropped.Add(1)
	}
}

// sync asks the member to confirm it applied routes up to rev.
func (p *peer) sync(ctx context.Context, rev int64) error {
	r := &request{f: frame{kind: frameSync, seq: p.seq.Add(1), rev: uint64(rev)}, done: make(chan error, 1)}
	select {
	case p.queue <- r:
	case <-ctx.Done():
		return ctx.Err()
	}
	return p.wait(ctx, r)
}

// wait waits for r's ack.
func (p *peer) wait(ctx context.Context, r *request) error {
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		r.abandoned.Store(true)
		p.mu.Lock()
		delete(p.pending, r.f.seq)
		p.mu.Unlock()
		return ctx.Err()
	case <-p.ctx.Done():
		return p.err()
	}
}

// sendBy queues a message whose caller waits for the ack until deadline
// (waitBy); it waits for room in a full queue until then too.
func (p *peer) sendBy(m *broker.Message, deadline time.Time) (*request, error) {
	if p.state.Load() == linkDown {
		return nil, errLinkDown
	}
	r := &request{f: frame{kind: frameMsg, seq: p.seq.Add(1), msg: m, wantAck: true}, done: make(chan error, 1)}
	for {
		select {
		case p.queue <- r:
			return r, nil
		case <-p.ctx.Done():
			return nil, p.err()
		case <-p.n.clock.next():
			if time.Now().After(deadline) {
				return nil, errForwardTimeout
			}
		}
	}
}

// waitBy waits for r's ack until deadline (give or take tickEvery).
func (p *peer) waitBy(r *request, deadline time.Time) error {
	for {
		select {
		case err := <-r.done:
			return err
		case <-p.ctx.Done():
			return p.err()
		case <-p.n.clock.next():
			if time.Now().After(deadline) {
				r.abandoned.Store(true)
				p.forget(r)
				return errForwardTimeout
			}
		}
	}
}

func (p *peer) err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped != nil {
		return p.stopped
	}
	return errPeerGone
}

// run dials the member and serves the link until stop, reconnecting with
// exponential backoff (50 ms to 2 s, jittered).
func (p *peer) run() {
	backoff := 50 * time.Millisecond
	for p.ctx.Err() == nil {
		nc, err := p.dial()
		if err != nil {
			p.state.Store(linkDown)
			p.failPending(errLinkDown)
			p.n.log.Debug("dialing cluster member", "peer", p.m.ID, "addr", p.m.Addr, "err", err)
			select {
			case <-p.ctx.Done():
				return
			case <-time.After(jitter(backoff)):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		p.state.Store(linkUp)
		err = p.serve(nc)
		if p.ctx.Err() == nil {
			p.state.Store(linkDown)
			p.n.log.Warn("cluster link lost", "peer", p.m.ID, "err", err)
		}
	}
}

func (p *peer) dial() (net.Conn, error) {
	d := net.Dialer{Timeout: 2 * time.Second, KeepAlive: 15 * time.Second}
	ctx, cancel := context.WithTimeout(p.ctx, 3*time.Second)
	defer cancel()
	var nc net.Conn
	var err error
	if tc := p.n.cfg.LinkTLS; tc != nil {
		td := tls.Dialer{NetDialer: &d, Config: tc}
		nc, err = td.DialContext(ctx, "tcp", p.m.Addr)
	} else {
		nc, err = d.DialContext(ctx, "tcp", p.m.Addr)
	}
	if err != nil {
		return nil, err
	}
	hello := appendFrame(nil, &frame{kind: frameHello, node: p.n.cfg.NodeID})
	if _, err := nc.Write(hello); err != nil {
		_ = nc.Close()
		return nil, err
	}
	return nc, nil
}

// serve writes queued frames and reads acks until the connection fails or
// the link stops. Frames written and not acknowledged are written again on
// the next connection (a member may then see a message twice).
func (p *peer) serve(nc net.Conn) error {
	readDone := make(chan struct{})
	var rerr error
	go func() {
		defer close(readDone)
		rerr = p.readAcks(nc)
	}()
	stop := context.AfterFunc(p.ctx, func() { _ = nc.Close() })
	defer stop()

	err := p.writeLoop(nc, readDone)
	_ = nc.Close()
	<-readDone
	if err == nil {
		err = rerr
	}
	return err
}

func (p *peer) writeLoop(nc net.Conn, readDone <-chan struct{}) error {
	var buf []byte
	// Resend what the previous connection left unacknowledged, in order.
	p.mu.Lock()
	resend := make([]*request, 0, len(p.pending))
	for _, r := range p.pending {
		resend = append(resend, r)
	}
	p.mu.Unlock()
	slices.SortFunc(resend, func(a, b *request) int { return cmpU64(a.f.seq, b.f.seq) })
	for _, r := range resend {
		buf = appendFrame(buf, &r.f)
	}
	for {
		for len(buf) < 64<<10 {
			var r *request
			if len(buf) == 0 {
				select {
				case r = <-p.queue:
				case <-readDone:
					return errLinkDown
				case <-p.ctx.Done():
					return p.ctx.Err()
				}
			} else {
				select {
				case r = <-p.queue:
				default:
				}
			}
			if r == nil {
				break
			}
			if r.abandoned.Load() {
				continue
			}
			if r.done != nil {
				p.mu.Lock()
				p.pending[r.f.seq] = r
				p.mu.Unlock()
			}
			buf = appendFrame(buf, &r.f)
			if r.f.kind == frameMsg {
				p.n.stats.forwarded.Add(1)
			}
		}
		_ = nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := nc.Write(buf); err != nil {
			return err
		}
		buf = buf[:0]
	}
}

func (p *peer) readAcks(nc net.Conn) error {
	r := bufio.NewReaderSize(nc, 16<<10)
	var buf []byte
	var f frame
	for {
		var err error
		buf, err = readFrame(r, buf, &f)
		if err != nil {
			return err
		}
		if f.kind != frameAck {
			return fmt.Errorf("%w: type %d from the listener", errFrame, f.kind)
		}
		p.mu.Lock()
		req := p.pending[f.seq]
		delete(p.pending, f.seq)
		p.mu.Unlock()
		if req == nil {
			continue
		}
		req.unserved = f.unserved
		if f.code != 0 {
			req.finish(packets.ReasonCode(f.code))
		} else {
			req.finish(nil)
		}
	}
}

// failPending fails the requests waiting on a link that could not be
// dialed: their publishers are told now rather than at the timeout.
func (p *peer) failPending(err error) {
	p.mu.Lock()
	pend := p.pending
	p.pending = make(map[uint64]*request)
	p.mu.Unlock()
	for _, r := range pend {
		r.finish(err)
	}
	for {
		select {
		case r := <-p.queue:
			r.finish(err)
		default:
			return
		}
	}
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// jitter returns d plus up to 20%.
func jitter(d time.Duration) time.Duration {
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}
