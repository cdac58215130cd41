package coap

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/net/blockwise"
	"github.com/ternmq/broker"
)

// observer is one observation (RFC 7641): a broker subscription whose
// messages go to the peer as notifications carrying the registration's
// token and an increasing Observe sequence number.
type observer struct {
	p        *peer
	token    message.Token
	key      string
	filter   string
	wildcard bool
	// skipRetained: the registration response carried the topic's retained
	// message, so the subscription's copy of it is not sent again.
	skipRetained bool

	ctx    context.Context
	cancel context.CancelFunc
	ready  chan struct{} // closed once the registration response is out
	seq    atomic.Uint32

	mu      sync.Mutex // guards ended, stop and large
	ended   bool
	stop    func() // ends the subscription
	release func() // releases the broker client
	large   *largeNote
}

// largeNote is the last notification too large for one block. Its first
// block went out with the notification; clients fetch the others with
// GETs of the observed resource carrying Block2 (RFC 7959 §2.6), under a
// token go-coap cannot match to the notification, so the listener answers
// them from here (checking the notification's ETag when the request
// carries one).
type largeNote struct {
	m       *broker.Message
	etag    []byte
	expires time.Time
}

func newObserver(p *peer, token message.Token, filter string, release func()) *observer {
	ctx, cancel := context.WithCancel(context.Background())
	o := &observer{
		p:        p,
		token:    append(message.Token(nil), token...),
		key:      string(token),
		filter:   filter,
		wildcard: strings.ContainsAny(filter, "+#"),
		ctx:      ctx,
		cancel:   cancel,
		ready:    make(chan struct{}),
		stop:     func() {},
		release:  release,
	}
	o.seq.Store(1)
	return o
}

// nextSeq returns the next Observe value: 24 bits that wrap (RFC 7641
// §3.4, §4.4).
func (o *observer) nextSeq() uint32 {
	return o.seq.Add(1) & 0xFFFFFF
}

// end deregisters the observation: the subscription ends (waiting for a
// notification in progress, which o.cancel cuts short) and the broker
// client is released. It must not run on the subscription's callback.
func (o *observer) end() {
	o.mu.Lock()
	if o.ended {
		o.mu.Unlock()
		return
	}
	o.ended = true
	stop := o.stop
	o.mu.Unlock()
	o.cancel()
	o.p.remove(o)
	stop()
	o.release()
}

// subscribed records the subscription's cancel function; if the
// observation ended meanwhile, it cancels the subscription at once and
// returns false.
func (o *observer) subscribed(stop func()) bool {
	o.mu.Lock()
	if o.ended {
		o.mu.Unlock()
		stop()
		return false
	}
	o.stop = stop
	o.mu.Unlock()
	return true
}

// notify is the subscription's callback: it sends m to the peer. A message
// delivered at QoS 1 or 2 goes in a confirmable notification, and a peer
// that does not acknowledge it within MAX_TRANSMIT_WAIT is dropped with
// all its observations; QoS 0 goes non-confirmable. A payload larger than
// a block goes as its first block (RFC 7959 §2.6); the client fetches the
// rest (see largeNote).
func (o *observer) notify(m *broker.Message) {
	select {
	case <-o.ready:
	case <-o.ctx.Done():
		return
	}
	if o.ctx.Err() != nil || (m.Retain && o.skipRetained) {
		return
	}
	p := o.p
	msg := p.cc.AcquireMessage(o.ctx)
	defer p.cc.ReleaseMessage(msg)
	msg.SetCode(codes.Content)
	msg.SetToken(o.token)
	seq := o.nextSeq()
	msg.SetObserve(seq)
	setRepresentation(msg, m, o.wildcard)
	if size := p.l.cfg.blockSize; len(m.Payload) > size {
		etag := []byte{byte(seq >> 16), byte(seq >> 8), byte(seq)}
		_ = msg.SetETag(etag)
		block, _ := blockwise.EncodeBlockOption(p.l.szx, 0, true)
		msg.SetOptionUint32(message.Block2, block)
		msg.SetOptionUint32(message.Size2, uint32(len(m.Payload)))
		msg.SetBody(bytes.NewReader(m.Payload[:size]))
		o.mu.Lock()
		o.large = &largeNote{m: m, etag: etag, expires: time.Now().Add(blockTransferTimeout)}
		o.mu.Unlock()
	}
	confirm := m.QoS > 0
	err := p.transmit(o.ctx, msg, confirm, o)
	if err == nil || o.ctx.Err() != nil {
		return
	}
	p.l.cfg.log.Debug("coap: notification failed", "listener", p.l.name, "remote", p.remote.String(), "confirmable", confirm, "err", err)
	switch {
	case errors.Is(err, errReset):
		// answered has ended the observation.
	case confirm:
		// The peer stopped answering: go-coap's close runs the peer's
		// cleanup on the periodic runner, not on this callback.
		_ = p.cc.Close()
	}
}

// largeNotification returns the observation's last notification that
// did not fit in one block, if it is recent enough.
func (o *observer) largeNotification() *largeNote {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.large == nil || time.Now().After(o.large.expires) {
		o.large = nil
		return nil
	}
	return o.large
}

// sendFinal sends a last non-confirmable response without Observe, which
// ends the observation at the client (RFC 7641 §3.2).
func (o *observer) sendFinal(code codes.Code, diagnostic string) {
	cc := o.p.cc
	if cc.Context().Err() != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	msg := cc.AcquireMessage(ctx)
	defer cc.ReleaseMessage(msg)
	msg.SetCode(code)
	msg.SetToken(o.token)
	msg.SetContentFormat(message.TextPlain)
	msg.SetBody(bytes.NewReader([]byte(diagnostic)))
	_ = o.p.transmit(ctx, msg, false, nil)
}

// setRepresentation puts m into the response or notification msg: its
// payload, its Content Type as Content-Format, its remaining expiry as
// Max-Age (RFC 7252 §5.10.5) and, with withTopic (a notification of a
// wildcard observation), its topic as Location-Path options ("ps", then
// one per level).
func setRepresentation(msg *pool.Message, m *broker.Message, withTopic bool) {
	if cf, ok := contentFormat(m.ContentType); ok {
		msg.SetContentFormat(cf)
	} else if m.ContentType == "" && m.PayloadUTF8 {
		msg.SetContentFormat(message.TextPlain)
	}
	if m.Expiry > 0 {
		msg.SetOptionUint32(message.MaxAge, uint32(min((m.Expiry+time.Second-1)/time.Second, 1<<32-1)))
	}
	if withTopic {
		levels := strings.Split(m.Topic, "/")
		fits := true
		for _, lv := range levels {
			fits = fits && len(lv) <= 255 // the longest Location-Path option
		}
		if fits {
			msg.AddOptionString(message.LocationPath, "ps")
			for _, lv := range levels {
				msg.AddOptionString(message.LocationPath, lv)
			}
		}
	}
	if len(m.Payload) > 0 {
		msg.SetBody(bytes.NewReader(m.Payload))
	}
}
