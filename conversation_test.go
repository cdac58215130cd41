package broker_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

func hexBytes(s ...byte) []byte { return s }

type authFunc func(ctx context.Context, c *broker.Credentials) error

func (f authFunc) Authenticate(ctx context.Context, c *broker.Credentials) error { return f(ctx, c) }

// TestConnackReturnCodes drives every MQTT 3.1.1 CONNACK return code with
// literal bytes [MQTT-3.2.2.3].
func TestConnackReturnCodes(t *testing.T) {
	auth := authFunc(func(_ context.Context, c *broker.Credentials) error {
		switch c.Username {
		case "bad":
			return packets.BadUserNameOrPassword
		case "nope":
			return packets.NotAuthorized
		}
		return nil
	})
	b, addr := startBroker(t, broker.WithAuthenticator(auth), broker.WithLimits(broker.Limits{MaxConnections: 2}))
	withUser := func(user string) []byte {
		p := &packets.Connect{Version: packets.V311, CleanStart: true, KeepAlive: 60, ClientID: []byte("u-" + user), UsernameFlag: true, Username: []byte(user), PasswordFlag: true, Password: []byte("pw")}
		out, err := p.Append(nil, packets.V311)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		name, spec string
		connect    []byte
		want       []byte
	}{
		{"accepted 3.1.1", "MQTT-3.2.2-4", hexBytes(0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 4, 't', 'e', 's', 't'), hexBytes(0x20, 2, 0, 0)},
		{"accepted 3.1 MQIsdp", "MQTT-3.1.2-2", hexBytes(0x10, 0x12, 0, 6, 'M', 'Q', 'I', 's', 'd', 'p', 3, 2, 0, 60, 0, 4, 't', 'e', 's', 't'), hexBytes(0x20, 2, 0, 0)},
		{"1 unacceptable protocol level", "MQTT-3.1.2-2", hexBytes(0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 6, 2, 0, 60, 0, 4, 't', 'e', 's', 't'), hexBytes(0x20, 2, 0, 1)},
		{"2 identifier rejected: empty id without clean session", "MQTT-3.1.3-8", hexBytes(0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 0, 0, 60, 0, 0), hexBytes(0x20, 2, 0, 2)},
		{"4 bad user name or password", "MQTT-3.2.2.3", withUser("bad"), hexBytes(0x20, 2, 0, 4)},
		{"5 not authorized", "MQTT-3.2.2.3", withUser("nope"), hexBytes(0x20, 2, 0, 5)},
	}
	for _, tc := range cases {
		t.Run(tc.name+" ["+tc.spec+"]", func(t *testing.T) {
			c := dialRaw(t, addr)
			c.write(tc.connect)
			c.expect(tc.want)
			if tc.want[3] != 0 {
				c.expectClosed() // [MQTT-3.2.2-5]
			}
		})
	}
	t.Run("3 server unavailable: connection limit", func(t *testing.T) {
		// The clients above have closed; the broker frees their slots
		// once it has seen them go.
		checkFor(t, 5*time.Second, func() error {
			if n := b.Stats().Connected; n != 0 {
				return fmt.Errorf("%d clients still connected", n)
			}
			return nil
		})
		a := dialRaw(t, addr)
		a.connect(connectPacket("one", true), packets.Success)
		b2 := dialRaw(t, addr)
		b2.connect(connectPacket("two", true), packets.Success)
		c := dialRaw(t, addr)
		c.write(hexBytes(0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 4, 't', 'h', 'r', 'e'))
		c.expect(hexBytes(0x20, 2, 0, 3))
		c.expectClosed()
	})
}

func TestEmptyClientIDGetsGeneratedID(t *testing.T) {
	_, addr := startBroker(t)
	c := dialRaw(t, addr)
	c.write(hexBytes(0x10, 0x0c, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 0))
	c.expect(hexBytes(0x20, 2, 0, 0)) // [MQTT-3.1.3-6]
	c5 := dialRaw(t, addr)
	ack := c5.connect(&packets.Connect{Version: packets.V5, CleanStart: true}, packets.Success)
	if len(ack.Properties.AssignedClientID) == 0 {
		t.Fatal("no Assigned Client Identifier in v5 CONNACK [MQTT-3.2.2-16]")
	}
}

func TestProtocolViolationsCloseOnlyThatConnection(t *testing.T) {
	b, addr := startBroker(t)
	good := dialRaw(t, addr)
	good.connect(connectPacket("good", true), packets.Success)
	good.subscribe(1, "t", 0)
	cases := []struct {
		name, spec string
		after      []byte // sent after a successful CONNECT; nil: sent instead of CONNECT
		first      []byte
	}{
		{"first packet not CONNECT", "MQTT-3.1.0-1", nil, hexBytes(0xC0, 0)},
		{"second CONNECT", "MQTT-3.1.0-2", hexBytes(0x10, 0x10, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 4, 't', 'e', 's', 't'), nil},
		{"SUBSCRIBE reserved flags 0", "MQTT-3.8.1-1", hexBytes(0x80, 6, 0, 1, 0, 1, 't', 0), nil},
		{"PUBLISH QoS 3", "MQTT-3.3.1-4", hexBytes(0x36, 5, 0, 1, 't', 0, 1), nil},
		{"PUBLISH topic with wildcard", "MQTT-3.3.2-2", hexBytes(0x30, 3, 0, 1, '#'), nil},
		{"remaining length longer than content", "MQTT-2.2.3", hexBytes(0xC0, 1, 0), nil},
		{"SUBSCRIBE without filters", "MQTT-3.8.3-3", hexBytes(0x82, 2, 0, 1), nil},
		{"invalid UTF-8 in topic", "MQTT-1.5.3-1", hexBytes(0x30, 4, 0, 2, 0xC3, 0x28), nil},
		{"reserved packet type 0", "MQTT-2.2.1", hexBytes(0x00, 0), nil},
		{"server-only packet from client", "MQTT-3.13", hexBytes(0xD0, 0), nil},
		{"invalid topic filter", "MQTT-4.7.1-2", hexBytes(0x82, 8, 0, 1, 0, 3, 'a', '#', 'b', 0), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name+" ["+tc.spec+"]", func(t *testing.T) {
			before := b.Stats().ProtocolViolations
			c := dialRaw(t, addr)
			if tc.first != nil {
				c.write(tc.first)
			} else {
				c.connect(connectPacket("bad-"+tc.name[:5], true), packets.Success)
				c.write(tc.after)
			}
			c.expectClosed()
			checkFor(t, 2*time.Second, func() error {
				if b.Stats().ProtocolViolations <= before {
					return errorf("violation not counted")
				}
				return nil
			})
		})
	}
	// The well-behaved client is unaffected.
	pub := dialRaw(t, addr)
	pub.connect(connectPacket("pub", true), packets.Success)
	pub.send(&packets.Publish{Topic: []byte("t"), Payload: []byte("still here")})
	good.expectPublish("t", "still here")
}

func TestConnectTimeout(t *testing.T) {
	_, addr := startBroker(t, broker.WithLimits(broker.Limits{ConnectTimeout: 100 * time.Millisecond}))
	c := dialRaw(t, addr)
	c.expectClosed()
}

func TestPacketTooLargeRefusedBeforeReading(t *testing.T) {
	_, addr := startBroker(t, broker.WithLimits(broker.Limits{MaxPacketSize: 1024}))
	c := dialRaw(t, addr)
	c.connect(connectPacket("big", true), packets.Success)
	// Claims 268,435,455 bytes; the broker must not wait for them.
	c.write(hexBytes(0x30, 0xFF, 0xFF, 0xFF, 0x7F, 0, 1, 't'))
	c.expectClosed()
}

func TestKeepAliveTimeoutPublishesWill(t *testing.T) {
	_, addr := startBroker(t)
	sub := dialRaw(t, addr)
	sub.connect(connectPacket("watcher", true), packets.Success)
	sub.subscribe(1, "wills/#", 1)

	c := dialRaw(t, addr)
	p := connectPacket("sleepy", true)
	p.KeepAlive = 1
	p.WillFlag, p.WillTopic, p.WillPayload, p.WillQoS = true, []byte("wills/sleepy"), []byte("gone"), 1
	start := time.Now()
	c.connect(p, packets.Success)
	// Silent for 1.5 x keep alive: disconnected [MQTT-3.1.2-24] and the will goes out [MQTT-3.1.2-8].
	sub.expectPublish("wills/sleepy", "gone")
	if d := time.Since(start); d < 1400*time.Millisecond {
		t.Fatalf("disconnected after %v, before 1.5 x keep alive", d)
	}
	c.expectClosed()
}

func TestWillNotSentAfterDisconnect(t *testing.T) {
	_, addr := startBroker(t)
	sub := dialRaw(t, addr)
	sub.connect(connectPacket("watcher", true), packets.Success)
	sub.subscribe(1, "wills/#", 0)
	c := dialRaw(t, addr)
	p := connectPacket("polite", true)
	p.WillFlag, p.WillTopic, p.WillPayload = true, []byte("wills/polite"), []byte("gone")
	c.connect(p, packets.Success)
	c.send(&packets.Disconnect{}) // [MQTT-3.14.4-3]
	c.expectClosed()
	// A marker published afterwards arrives first: no will came before it.
	m := dialRaw(t, addr)
	m.connect(connectPacket("marker", true), packets.Success)
	m.send(&packets.Publish{Topic: []byte("wills/marker"), Payload: []byte("x")})
	sub.expectPublish("wills/marker", "x")
}

func TestTakeoverClosesOldConnectionAndSendsWill(t *testing.T) {
	_, addr := startBroker(t)
	sub := dialRaw(t, addr)
	sub.connect(connectPacket("watcher", true), packets.Success)
	sub.subscribe(1, "wills/#", 0)
	first := dialRaw(t, addr)
	p := connectPacket("same", false)
	p.WillFlag, p.WillTopic, p.WillPayload = true, []byte("wills/same"), []byte("taken over")
	first.connect(p, packets.Success)
	second := dialRaw(t, addr)
	ack := second.connect(connectPacket("same", false), packets.Success)
	if !ack.SessionPresent {
		t.Fatal("session present = false after takeover of a persistent session [MQTT-3.2.2-2]")
	}
	first.expectClosed() // [MQTT-3.1.4-3]
	sub.expectPublish("wills/same", "taken over")
}

func TestSessionPresentFlag(t *testing.T) {
	_, addr := startBroker(t)
	c := dialRaw(t, addr)
	if ack := c.connect(connectPacket("p1", false), packets.Success); ack.SessionPresent {
		t.Fatal("new session reported present [MQTT-3.2.2-3]")
	}
	c.subscribe(1, "a", 1)
	c.send(&packets.Disconnect{})
	c.expectClosed()
	c = dialRaw(t, addr)
	if ack := c.connect(connectPacket("p1", false), packets.Success); !ack.SessionPresent {
		t.Fatal("resumed session not reported present [MQTT-3.2.2-2]")
	}
	c.send(&packets.Disconnect{})
	c.expectClosed()
	c = dialRaw(t, addr)
	if ack := c.connect(connectPacket("p1", true), packets.Success); ack.SessionPresent {
		t.Fatal("clean session reported present [MQTT-3.2.2-1]")
	}
}

func TestRedeliveryWithDupAfterReconnect(t *testing.T) {
	b, addr := startBroker(t)
	c := dialRaw(t, addr)
	c.connect(connectPacket("sub", false), packets.Success)
	c.subscribe(1, "q/#", 1)
	if err := b.Publish("q/1", []byte("one"), 1, false); err != nil {
		t.Fatal(err)
	}
	first := c.expectPublish("q/1", "one")
	if first.Dup {
		t.Fatal("first delivery has DUP")
	}
	_ = c.NC.Close() // no PUBACK
	c = dialRaw(t, addr)
	c.connect(connectPacket("sub", false), packets.Success)
	again := c.expectPublish("q/1", "one")
	if !again.Dup || again.PacketID != first.PacketID {
		t.Fatalf("redelivery dup=%v id=%d, want dup=true id=%d [MQTT-4.4.0-1]", again.Dup, again.PacketID, first.PacketID)
	}
	c.send(&packets.Ack{Kind: packets.PUBACK, PacketID: again.PacketID})
}

func TestPacketIDsUniqueWhileInFlight(t *testing.T) {
	b, addr := startBroker(t)
	c := dialRaw(t, addr)
	c.connect(connectPacket("ids", true), packets.Success)
	c.subscribe(1, "n", 2)
	seen := map[uint16]bool{}
	for i := range 200 {
		qos := byte(1 + i%2)
		if err := b.Publish("n", []byte{byte(i)}, qos, false); err != nil {
			t.Fatal(err)
		}
		p := c.next().(*packets.Publish)
		if p.PacketID == 0 || seen[p.PacketID] {
			t.Fatalf("packet id %d reused while in flight [MQTT-2.3.1-2]", p.PacketID)
		}
		if p.Payload[0] != byte(i) {
			t.Fatalf("message %d out of order: got %d [MQTT-4.6.0-6]", i, p.Payload[0])
		}
		seen[p.PacketID] = true
	}
}

func TestQoS2ExactlyOnceAcrossReconnect(t *testing.T) {
	_, addr := startBroker(t)
	sub := dialRaw(t, addr)
	sub.connect(connectPacket("sub2", true), packets.Success)
	sub.subscribe(1, "x", 2)

	pub := dialRaw(t, addr)
	pub.connect(connectPacket("pub2", false), packets.Success)
	pub.send(&packets.Publish{QoS: 2, PacketID: 7, Topic: []byte("x"), Payload: []byte("once")})
	if a := pub.next().(*packets.Ack); a.Kind != packets.PUBREC || a.PacketID != 7 {
		t.Fatalf("got %v %d, want PUBREC 7", a.Kind, a.PacketID)
	}
	_ = pub.NC.Close() // before PUBREL
	pub = dialRaw(t, addr)
	pub.connect(connectPacket("pub2", false), packets.Success)
	pub.send(&packets.Publish{QoS: 2, PacketID: 7, Dup: true, Topic: []byte("x"), Payload: []byte("once")})
	if a := pub.next().(*packets.Ack); a.Kind != packets.PUBREC || a.PacketID != 7 {
		t.Fatalf("got %v %d, want PUBREC 7 again", a.Kind, a.PacketID)
	}
	pub.send(&packets.Ack{Kind: packets.PUBREL, PacketID: 7})
	if a := pub.next().(*packets.Ack); a.Kind != packets.PUBCOMP || a.PacketID != 7 {
		t.Fatalf("got %v %d, want PUBCOMP 7", a.Kind, a.PacketID)
	}
	// The subscriber got it exactly once [MQTT-4.3.3].
	p := sub.expectPublish("x", "once")
	sub.send(&packets.Ack{Kind: packets.PUBREC, PacketID: p.PacketID})
	if a := sub.next().(*packets.Ack); a.Kind != packets.PUBREL {
		t.Fatalf("got %v, want PUBREL", a.Kind)
	}
	sub.send(&packets.Ack{Kind: packets.PUBCOMP, PacketID: p.PacketID})
	if extra, err := sub.tryNext(200 * time.Millisecond); err == nil {
		t.Fatalf("second delivery: %#v", extra)
	}
}

func TestRetainedSetReplaceDelete(t *testing.T) {
	b, addr := startBroker(t, broker.WithSysInterval(-1))
	pub := dialRaw(t, addr)
	pub.connect(connectPacket("rpub", true), packets.Success)
	pub.send(&packets.Publish{Retain: true, Topic: []byte("r/a"), Payload: []byte("1")})
	pub.send(&packets.Publish{Retain: true, Topic: []byte("r/a"), Payload: []byte("2")}) // replaces [MQTT-3.3.1-5]
	pub.send(&packets.Publish{Retain: true, Topic: []byte("r/b"), Payload: []byte("b")})
	pub.send(&packets.Publish{Retain: true, Topic: []byte("r/b")}) // deletes [MQTT-3.3.1-10 (3.1.1)]
	// Only the broker (and the host through it) publishes under $SYS.
	if err := b.Publish("$SYS/x", []byte("sys"), 0, true); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 2*time.Second, func() error {
		if n := b.Stats().Retained; n != 2 {
			return errorf("retained count %d, want 2", n)
		}
		return nil
	})
	sub := dialRaw(t, addr)
	sub.connect(connectPacket("rsub", true), packets.Success)
	sub.subscribe(1, "#", 0)
	p := sub.expectPublish("r/a", "2")
	if !p.Retain {
		t.Fatal("retained message delivered without RETAIN [MQTT-3.3.1-8]")
	}
	if extra, err := sub.tryNext(200 * time.Millisecond); err == nil {
		t.Fatalf("unexpected %#v ($SYS must not match # [MQTT-4.7.2-1])", extra)
	}
	// A live message on an established subscription has RETAIN 0 [MQTT-3.3.1-9].
	pub.send(&packets.Publish{Retain: true, Topic: []byte("r/c"), Payload: []byte("c")})
	if p := sub.expectPublish("r/c", "c"); p.Retain {
		t.Fatal("live delivery kept RETAIN")
	}
}

func TestOverlappingSubscriptionsDeliverOnceAtMaxQoS(t *testing.T) {
	b, addr := startBroker(t)
	c := dialRaw(t, addr)
	c.connect(connectPacket("overlap", true), packets.Success)
	c.subscribe(1, "a/+", 0)
	c.subscribe(2, "a/#", 1)
	c.subscribe(3, "a/b", 2)
	if err := b.Publish("a/b", []byte("x"), 2, false); err != nil {
		t.Fatal(err)
	}
	p := c.expectPublish("a/b", "x")
	if p.QoS != 2 {
		t.Fatalf("QoS %d, want 2 (maximum of overlapping subscriptions) [MQTT-3.3.5-1]", p.QoS)
	}
	if extra, err := c.tryNext(200 * time.Millisecond); err == nil {
		t.Fatalf("second delivery %#v", extra)
	}
}

type dropCounter struct{ n atomic.Int64 }

func (d *dropCounter) OnDropped(string, *broker.Message, broker.DropReason) { d.n.Add(1) }

func TestSlowConsumerIsBoundedAndCounted(t *testing.T) {
	drops := &dropCounter{}
	b, addr := startBroker(t, broker.WithHooks(drops), broker.WithLimits(broker.Limits{MaxQueuedMessages: 100}))
	slow := dialRaw(t, addr)
	slow.connect(connectPacket("slow", true), packets.Success)
	slow.subscribe(1, "flood", 0)
	// slow never reads again. A fast subscriber must still get everything.
	fast := dialRaw(t, addr)
	fast.connect(connectPacket("fast", true), packets.Success)
	fast.subscribe(1, "flood", 0)
	var fastGot atomic.Int64
	go func() {
		for {
			if _, err := fast.tryNext(10 * time.Second); err != nil {
				return
			}
			fastGot.Add(1)
		}
	}()
	payload := make([]byte, 1024)
	start := time.Now()
	for round := 1; round <= 200; round++ {
		for range 100 {
			if err := b.Publish("flood", payload, 0, false); err != nil {
				t.Fatal(err)
			}
		}
		// The fast reader keeps up; the publisher never waits for the slow one.
		checkFor(t, 10*time.Second, func() error {
			if n := fastGot.Load(); n < int64(round*100) {
				return errorf("fast subscriber has %d of %d", n, round*100)
			}
			return nil
		})
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("20,000 publishes took %v", d)
	}
	if drops.n.Load() == 0 || b.Stats().Dropped == 0 {
		t.Fatal("overflow of the slow client's queue was not counted")
	}
}

func TestInProcessSubscribeSeesNetworkPublish(t *testing.T) {
	b, addr := startBroker(t)
	got := make(chan string, 1)
	cancel, err := b.Subscribe("in/+", 1, func(m *broker.Message) { got <- string(m.Payload) })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	c := dialRaw(t, addr)
	c.connect(connectPacket("net", true), packets.Success)
	c.send(&packets.Publish{QoS: 1, PacketID: 1, Topic: []byte("in/x"), Payload: []byte("hello")})
	select {
	case s := <-got:
		if s != "hello" {
			t.Fatalf("got %q", s)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("callback not called")
	}
	if _, err := b.Subscribe("bad/#/x", 0, func(*broker.Message) {}); err == nil {
		t.Fatal("invalid filter accepted")
	}
	if err := b.Publish("bad/+", nil, 0, false); err == nil {
		t.Fatal("wildcard topic accepted")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish("in/x", nil, 0, false); !errors.Is(err, broker.ErrClosed) {
		t.Fatalf("publish after close: %v", err)
	}
}
