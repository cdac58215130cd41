package broker_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ternmq/broker/packets"
)

func sub5(c *rawClient, id uint16, subID uint32, subs ...packets.Subscription) *packets.Suback {
	c.T.Helper()
	s := &packets.Subscribe{PacketID: id, Subscriptions: subs}
	if subID != 0 {
		s.Properties.SubscriptionIDs = []uint32{subID}
		s.Properties.Present.Add(packets.PropSubscriptionID)
	}
	c.send(s)
	return c.next().(*packets.Suback)
}

// TestV5SubscriptionOptions: No Local, Retain As Published, Retain Handling
// and subscription identifiers on delivery.
func TestV5SubscriptionOptions(t *testing.T) {
	b, addr := startBroker(t)
	if err := b.Publish("opt/r", []byte("old"), 0, true); err != nil {
		t.Fatal(err)
	}
	c := dialRaw(t, addr)
	c.connect(connect5("opts", true), packets.Success)

	// Retain handling 2: no retained message at subscribe [MQTT-3.3.1-11].
	sub5(c, 1, 0, packets.Subscription{Filter: []byte("opt/r"), RetainHandling: 2})
	if pk, err := c.tryNext(100 * time.Millisecond); err == nil {
		t.Fatalf("retain handling 2 sent %#v", pk)
	}
	// Retain handling 1: only for a new subscription [MQTT-3.3.1-10].
	sub5(c, 2, 0, packets.Subscription{Filter: []byte("opt/+"), RetainHandling: 1})
	c.expectPublish("opt/r", "old")
	sub5(c, 3, 0, packets.Subscription{Filter: []byte("opt/+"), RetainHandling: 1})
	if pk, err := c.tryNext(100 * time.Millisecond); err == nil {
		t.Fatalf("retain handling 1 resent on an existing subscription: %#v", pk)
	}

	// No Local: own messages are not delivered [MQTT-3.8.3-3].
	d := dialRaw(t, addr)
	d.connect(connect5("local", true), packets.Success)
	sub5(d, 1, 0, packets.Subscription{Filter: []byte("nl"), NoLocal: true})
	d.send(&packets.Publish{Topic: []byte("nl"), Payload: []byte("mine")})
	if pk, err := d.tryNext(100 * time.Millisecond); err == nil {
		t.Fatalf("No Local delivered %#v", pk)
	}

	// Retain As Published keeps RETAIN on live deliveries [MQTT-3.3.1-12, 3.3.1-13].
	e := dialRaw(t, addr)
	e.connect(connect5("rap", true), packets.Success)
	sub5(e, 1, 0, packets.Subscription{Filter: []byte("rap/keep"), RetainAsPublished: true})
	sub5(e, 2, 0, packets.Subscription{Filter: []byte("rap/drop")})
	if err := b.Publish("rap/keep", []byte("k"), 0, true); err != nil {
		t.Fatal(err)
	}
	if p := e.expectPublish("rap/keep", "k"); !p.Retain {
		t.Fatal("Retain As Published cleared RETAIN")
	}
	if err := b.Publish("rap/drop", []byte("d"), 0, true); err != nil {
		t.Fatal(err)
	}
	if p := e.expectPublish("rap/drop", "d"); p.Retain {
		t.Fatal("RETAIN kept without Retain As Published")
	}

	// Subscription identifiers: every matching subscription's id, one delivery [MQTT-3.3.4-3, 3.3.4-4].
	f := dialRaw(t, addr)
	f.connect(connect5("ids", true), packets.Success)
	sub5(f, 1, 7, packets.Subscription{Filter: []byte("id/+")})
	sub5(f, 2, 9, packets.Subscription{Filter: []byte("id/#")})
	if err := b.Publish("id/x", []byte("v"), 0, false); err != nil {
		t.Fatal(err)
	}
	p := f.expectPublish("id/x", "v")
	ids := slices.Clone(p.Properties.SubscriptionIDs)
	slices.Sort(ids)
	if !slices.Equal(ids, []uint32{7, 9}) {
		t.Fatalf("subscription identifiers %v, want [7 9]", ids)
	}
	if pk, err := f.tryNext(100 * time.Millisecond); err == nil {
		t.Fatalf("second delivery %#v", pk)
	}
}

// TestV5WillDelayAndDisconnectWithWill: DISCONNECT 0x04 publishes the will
// [MQTT-3.14.4-3]; a will delay holds it, and a resumed session cancels it
// [MQTT-3.1.3-9].
func TestV5WillDelayAndDisconnectWithWill(t *testing.T) {
	_, addr := startBroker(t)
	w := dialRaw(t, addr)
	w.connect(connectPacket("watch", true), packets.Success)
	w.subscribe(1, "will/#", 0)

	c := dialRaw(t, addr)
	p := connect5("dw", true)
	p.WillFlag, p.WillTopic, p.WillPayload = true, []byte("will/dw"), []byte("asked for")
	c.connect(p, packets.Success)
	c.send(&packets.Disconnect{ReasonCode: packets.DisconnectWithWill})
	w.expectPublish("will/dw", "asked for")

	// Delayed will, resumed in time: never sent.
	c = dialRaw(t, addr)
	p = connect5("delayed", false)
	withExpiry(&p.Properties, 60)
	p.WillFlag, p.WillTopic, p.WillPayload = true, []byte("will/delayed"), []byte("late")
	p.WillProperties.WillDelay = 1
	p.WillProperties.Present.Add(packets.PropWillDelay)
	c.connect(p, packets.Success)
	_ = c.NC.Close()
	c = dialRaw(t, addr)
	c.connect(connect5("delayed", false), packets.Success)
	if pk, err := w.tryNext(1500 * time.Millisecond); err == nil {
		t.Fatalf("suppressed will sent: %#v", pk)
	}
	// Delayed will, not resumed: sent after the delay.
	_ = c.NC.Close()
	c = dialRaw(t, addr)
	c.connect(p, packets.Success) // sets the will again
	start := time.Now()
	_ = c.NC.Close()
	w.expectPublish("will/delayed", "late")
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("will sent after %v, before its 1 s delay", d)
	}
}

// TestV5MessageExpiry: a queued message past its expiry is not delivered;
// one still valid carries the remaining time [MQTT-3.3.2-5, 3.3.2-6].
func TestV5MessageExpiry(t *testing.T) {
	_, addr := startBroker(t)
	c := dialRaw(t, addr)
	p := connect5("exp-sub", false)
	withExpiry(&p.Properties, 60)
	c.connect(p, packets.Success)
	sub5(c, 1, 0, packets.Subscription{Filter: []byte("ttl/#"), QoS: 1})
	c.send(&packets.Disconnect{})
	c.expectClosed()

	pub := dialRaw(t, addr)
	pub.connect(connect5("exp-pub", true), packets.Success)
	for _, m := range []struct {
		topic string
		ttl   uint32
	}{{"ttl/short", 1}, {"ttl/long", 100}} {
		pk := &packets.Publish{QoS: 1, PacketID: 1, Topic: []byte(m.topic), Payload: []byte("x")}
		pk.Properties.MessageExpiry = m.ttl
		pk.Properties.Present.Add(packets.PropMessageExpiry)
		pub.send(pk)
		pub.next()
	}
	time.Sleep(1100 * time.Millisecond) // let the short one expire while queued
	c = dialRaw(t, addr)
	c.connect(p, packets.Success)
	got := c.expectPublish("ttl/long", "x")
	if e := got.Properties.MessageExpiry; e == 0 || e > 99 {
		t.Fatalf("remaining expiry %d, want 1..99", e)
	}
}

// TestV5SessionExpiryOnDisconnect: DISCONNECT may change a non-zero expiry,
// but not raise a zero one [MQTT-3.14.2-2].
func TestV5SessionExpiryOnDisconnect(t *testing.T) {
	_, addr := startBroker(t)
	c := dialRaw(t, addr)
	c.connect(connect5("zero-exp", true), packets.Success)
	d := &packets.Disconnect{}
	withExpiry(&d.Properties, 30)
	c.send(d)
	if pk, ok := c.next().(*packets.Disconnect); !ok || pk.ReasonCode != packets.ProtocolError {
		t.Fatalf("got %#v, want DISCONNECT 0x82", pk)
	}
	// Non-zero at CONNECT, set to 0 at DISCONNECT: the session ends.
	p := connect5("some-exp", false)
	withExpiry(&p.Properties, 30)
	c = dialRaw(t, addr)
	c.connect(p, packets.Success)
	d = &packets.Disconnect{}
	withExpiry(&d.Properties, 0)
	c.send(d)
	c.expectClosed()
	c = dialRaw(t, addr)
	if ack := c.connect(p, packets.Success); ack.SessionPresent {
		t.Fatal("session kept after DISCONNECT set its expiry to 0")
	}
}
