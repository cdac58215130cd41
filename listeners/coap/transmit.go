package coap

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	coapnet "github.com/plgd-dev/go-coap/v3/net"
)

// Notifications are sent by the listener itself rather than through
// go-coap's Conn.WriteMessage: go-coap gives a block-wise message a message
// ID of its own, so a Reset (which names only the message ID) could not be
// matched to its notification, and it reports a Reset to a confirmable
// message as an acknowledgement. Here the listener picks the message ID,
// retransmits confirmable notifications (RFC 7252 §4.2) and sees their
// ACK or Reset in inspect.

var (
	// errReset: the peer rejected the message with a Reset.
	errReset = errors.New("reset by peer")
	// errNoAck: a confirmable message went unacknowledged for
	// MAX_TRANSMIT_WAIT.
	errNoAck = errors.New("not acknowledged")
)

// transmit sends msg to the peer with a fresh message ID, recorded as a
// notification of o (nil for none). A confirmable msg is retransmitted
// with exponential back-off until an ACK or Reset arrives, ctx ends, or
// MAX_RETRANSMIT retransmissions went unanswered (errNoAck).
func (p *peer) transmit(ctx context.Context, msg *pool.Message, confirm bool, o *observer) error {
	mid := p.cc.GetMessageID()
	msg.SetMessageID(mid)
	msg.SetType(message.NonConfirmable)
	if confirm {
		msg.SetType(message.Confirmable)
	}
	var ack chan bool
	p.mu.Lock()
	if cm := p.control; cm != nil {
		msg.UpsertControlMessage(cm)
	}
	if o != nil {
		p.mids[p.next] = midEntry{mid: mid, o: o}
		p.next = (p.next + 1) % recentMIDs
	}
	if confirm {
		ack = make(chan bool, 1)
		if p.pending == nil {
			p.pending = make(map[int32]chan bool)
		}
		p.pending[mid] = ack
	}
	p.mu.Unlock()
	if confirm {
		defer func() {
			p.mu.Lock()
			delete(p.pending, mid)
			p.mu.Unlock()
		}()
	}
	session := p.cc.Session()
	if err := session.WriteMessage(msg); err != nil || !confirm {
		return err
	}
	cfg := &p.l.cfg
	timeout := time.Duration(float64(cfg.ackTimeout) * (1 + rand.Float64()/2)) // ACK_RANDOM_FACTOR 1.5
	t := time.NewTimer(timeout)
	defer t.Stop()
	for n := 0; ; n++ {
		select {
		case reset := <-ack:
			if reset {
				return errReset
			}
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-p.cc.Context().Done():
			return net.ErrClosed
		case <-t.C:
		}
		if n >= cfg.maxRetransmit {
			return errNoAck
		}
		timeout *= 2
		t.Reset(timeout)
		if err := session.WriteMessage(msg); err != nil {
			return err
		}
	}
}

// answered handles an ACK or Reset from the peer for message ID mid: it
// completes a confirmable transmission waiting for it, and a Reset to a
// notification ends that observation (RFC 7641 §3.6). It runs on go-coap's
// read loop, so the deregistration, which waits for a notification in
// progress, runs on a goroutine of its own.
func (p *peer) answered(mid int32, reset bool) {
	p.mu.Lock()
	if ack := p.pending[mid]; ack != nil {
		select {
		case ack <- reset:
		default:
		}
	}
	var o *observer
	if reset {
		for _, e := range p.mids {
			if e.o != nil && e.mid == mid {
				o = e.o
				break
			}
		}
	}
	p.mu.Unlock()
	if o != nil {
		o.cancel()
		p.l.wg.Go(o.end)
	}
}

// received records where the peer's datagrams arrive (the local address
// and interface), so that notifications leave from the address the peer
// talks to, as go-coap does for responses on a wildcard listener.
func (p *peer) received(cm *coapnet.ControlMessage) {
	if cm == nil || (cm.IfIndex < 1 && len(cm.Dst) == 0) {
		return
	}
	var src net.IP
	if len(cm.Dst) > 0 && !cm.Dst.IsMulticast() {
		src = cm.Dst
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.control; c != nil && c.IfIndex == cm.IfIndex && c.Src.Equal(src) {
		return
	}
	p.control = &coapnet.ControlMessage{IfIndex: cm.IfIndex, Src: append(net.IP(nil), src...)}
}
