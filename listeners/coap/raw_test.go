package coap_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/coap"
)

// A raw UDP peer: it answers only what a test tells it to, so that tests
// can withhold acknowledgements and send Resets (RFC 7252 §4.2, §4.3).

type rawPeer struct {
	t    *testing.T
	conn *net.UDPConn
	mid  uint16
}

func dialRaw(t *testing.T, addr string) *rawPeer {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawPeer{t: t, conn: c, mid: 100}
}

// send sends a message built by setup.
func (p *rawPeer) send(typ message.Type, code codes.Code, mid int32, token []byte, setup func(m *pool.Message)) {
	p.t.Helper()
	if _, err := p.conn.Write(datagram(p.t, typ, code, mid, token, setup)); err != nil {
		p.t.Fatal(err)
	}
}

// request sends a confirmable request and returns its message ID.
func (p *rawPeer) request(code codes.Code, token []byte, setup func(m *pool.Message)) int32 {
	p.mid++
	p.send(message.Confirmable, code, int32(p.mid), token, setup)
	return int32(p.mid)
}

// recv returns the next datagram from the listener.
func (p *rawPeer) recv(timeout time.Duration) *pool.Message {
	p.t.Helper()
	buf := make([]byte, 2048)
	_ = p.conn.SetReadDeadline(time.Now().Add(timeout))
	n, err := p.conn.Read(buf)
	if err != nil {
		p.t.Fatalf("no datagram from the listener: %v", err)
	}
	m := pool.NewMessage(context.Background())
	if _, err := m.UnmarshalWithDecoder(coder.DefaultCoder, buf[:n]); err != nil {
		p.t.Fatal(err)
	}
	return m
}

// recvUntil reads datagrams until one satisfies match.
func (p *rawPeer) recvUntil(timeout time.Duration, match func(*pool.Message) bool) *pool.Message {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m := p.recv(time.Until(deadline))
		if match(m) {
			return m
		}
	}
}

// tryRecvUntil is recvUntil returning nil when timeout passes.
func (p *rawPeer) tryRecvUntil(timeout time.Duration, match func(*pool.Message) bool) *pool.Message {
	p.t.Helper()
	buf := make([]byte, 2048)
	deadline := time.Now().Add(timeout)
	for {
		_ = p.conn.SetReadDeadline(deadline)
		n, err := p.conn.Read(buf)
		if err != nil {
			return nil
		}
		m := pool.NewMessage(context.Background())
		if _, err := m.UnmarshalWithDecoder(coder.DefaultCoder, buf[:n]); err != nil {
			p.t.Fatal(err)
		}
		if match(m) {
			return m
		}
	}
}

// observe registers an observation of path (with optional queries) and
// returns once the registration response arrived.
func (p *rawPeer) observe(path string, token []byte, queries ...string) {
	p.t.Helper()
	mid := p.request(codes.GET, token, func(m *pool.Message) {
		if err := m.SetPath(path); err != nil {
			p.t.Fatal(err)
		}
		m.SetObserve(0)
		for _, q := range queries {
			m.AddQuery(q)
		}
	})
	resp := p.recvUntil(20*time.Second, func(m *pool.Message) bool { return m.MessageID() == mid })
	if obs, err := resp.Observe(); resp.Code() != codes.Content || err != nil {
		p.t.Fatalf("registration response %v, Observe %d %v", resp.Code(), obs, err)
	}
}

// TestResetDeregisters: a Reset in reply to a notification ends the
// observation (RFC 7641 §3.6).
func TestResetDeregisters(t *testing.T) {
	e := start(t, nil)
	p := dialRaw(t, e.coapAddr)
	p.observe("/ps/rst", []byte{7})
	e.subscriptions(t, 1)
	if err := e.b.Publish("rst", []byte("x"), 0, false); err != nil {
		t.Fatal(err)
	}
	n := p.recv(5 * time.Second)
	if n.Type() != message.NonConfirmable || n.Code() != codes.Content {
		t.Fatalf("notification %v %v, want NON 2.05", n.Type(), n.Code())
	}
	p.send(message.Reset, codes.Empty, n.MessageID(), nil, nil)
	e.subscriptions(t, 0)
}

// TestUnacknowledgedNotificationDropsPeer: a message delivered at QoS 1
// goes in a confirmable notification, retransmitted (RFC 7252 §4.2); a
// peer that acknowledges none within MAX_TRANSMIT_WAIT is dropped with its
// observations, and its broker client is closed.
func TestUnacknowledgedNotificationDropsPeer(t *testing.T) {
	var disconnects atomic.Int32
	e := start(t, []broker.Option{broker.WithHooks(disconnectHook(func() { disconnects.Add(1) }))},
		coap.WithTransmission(50*time.Millisecond, 2))
	p := dialRaw(t, e.coapAddr)
	p.observe("/ps/con", []byte{1}, "qos=1")
	e.subscriptions(t, 1)
	if err := e.b.Publish("con", []byte("x"), 1, false); err != nil {
		t.Fatal(err)
	}
	first := p.recv(5 * time.Second)
	if first.Type() != message.Confirmable {
		t.Fatalf("notification at QoS 1 is %v, want CON", first.Type())
	}
	again := p.recv(5 * time.Second)
	if again.MessageID() != first.MessageID() {
		t.Errorf("retransmission has message ID %d, want %d", again.MessageID(), first.MessageID())
	}
	e.subscriptions(t, 0)
	checkFor(t, 5*time.Second, func() error {
		if n := disconnects.Load(); n != 1 {
			return errorf("%d clients closed, want 1", n)
		}
		return nil
	})
}

// TestSilentObserverPinged: an observer silent past the inactivity timeout
// is pinged (an empty CON, RFC 7252 §4.3); answering with a Reset keeps
// it, not answering drops it.
func TestSilentObserverPinged(t *testing.T) {
	e := start(t, nil, coap.WithInactivityTimeout(300*time.Millisecond), coap.WithTransmission(50*time.Millisecond, 1))
	p := dialRaw(t, e.coapAddr)
	p.observe("/ps/ping", []byte{2})
	e.subscriptions(t, 1)
	ping := p.recv(5 * time.Second)
	if ping.Type() != message.Confirmable || ping.Code() != codes.Empty {
		t.Fatalf("got %v %v, want a ping (CON 0.00)", ping.Type(), ping.Code())
	}
	p.send(message.Reset, codes.Empty, ping.MessageID(), nil, nil)
	// The next ping comes after another silent timeout; until then the
	// observation holds.
	next := p.recvUntil(20*time.Second, func(m *pool.Message) bool { return m.MessageID() != ping.MessageID() })
	if next.Code() != codes.Empty {
		t.Fatalf("got %v, want a second ping", next.Code())
	}
	e.subscriptions(t, 1)
	// Unanswered, it drops the peer.
	e.subscriptions(t, 0)
}

// TestIdlePeerForgotten: a peer without observations is forgotten after
// the inactivity timeout, its broker client closed; its next request gets
// a new one.
func TestIdlePeerForgotten(t *testing.T) {
	var disconnects atomic.Int32
	e := start(t, []broker.Option{broker.WithHooks(disconnectHook(func() { disconnects.Add(1) }))},
		coap.WithInactivityTimeout(200*time.Millisecond))
	p := dialRaw(t, e.coapAddr)
	publish := func() {
		mid := p.request(codes.POST, []byte{3}, func(m *pool.Message) { _ = m.SetPath("/ps/idle") })
		if r := p.recvUntil(20*time.Second, func(m *pool.Message) bool { return m.MessageID() == mid }); r.Code() != codes.Changed {
			t.Fatalf("POST = %v", r.Code())
		}
	}
	publish()
	publish()
	if n := disconnects.Load(); n != 0 {
		t.Fatalf("%d clients closed while active", n)
	}
	checkFor(t, 5*time.Second, func() error {
		if n := disconnects.Load(); n != 1 {
			return errorf("%d clients closed, want 1", n)
		}
		return nil
	})
	publish()
}

type disconnectHook func()

func (h disconnectHook) OnDisconnect(*broker.ClientInfo, error) { h() }

// TestRetransmittedPublishOnce: a confirmable publish retransmitted with
// the same message ID (its ACK was lost, RFC 7252 §4.5) is answered again
// from the response cache but published once.
func TestRetransmittedPublishOnce(t *testing.T) {
	e := start(t, nil)
	got := subscribe(t, e.b, "dup")
	p := dialRaw(t, e.coapAddr)
	post := func(payload string) func(m *pool.Message) {
		return func(m *pool.Message) {
			_ = m.SetPath("/ps/dup")
			m.AddQuery("qos=1")
			m.SetBody(strings.NewReader(payload))
		}
	}
	for range 3 {
		// Sent again after ACK_TIMEOUT when no answer comes, as a CoAP
		// client does (RFC 7252 §4.2): on a loaded machine a datagram
		// can be late or lost.
		var ack *pool.Message
		for try := 0; ack == nil && try < 5; try++ {
			p.send(message.Confirmable, codes.POST, 4242, []byte{9}, post("once"))
			ack = p.tryRecvUntil(2*time.Second, func(m *pool.Message) bool { return m.MessageID() == 4242 })
		}
		if ack == nil {
			t.Fatal("no answer to 5 transmissions")
		}
		if ack.Type() != message.Acknowledgement || ack.Code() != codes.Changed {
			t.Fatalf("answer %v %v, want ACK 2.04", ack.Type(), ack.Code())
		}
	}
	// A different message ID is a new publish; deliveries keep their
	// order, so a duplicate of the first would arrive before it.
	p.send(message.Confirmable, codes.POST, 4243, []byte{10}, post("next"))
	if msgs := got.wait(t, 2); string(msgs[0].Payload) != "once" || string(msgs[1].Payload) != "next" {
		t.Errorf("published %q then %q, want once then next", msgs[0].Payload, msgs[1].Payload)
	}
}
