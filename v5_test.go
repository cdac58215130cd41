package broker_test

import (
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

func connect5(id string, clean bool) *packets.Connect {
	return &packets.Connect{Version: packets.V5, ClientID: []byte(id), CleanStart: clean, KeepAlive: 60}
}

// withExpiry sets a Session Expiry Interval property.
func withExpiry(p *packets.Properties, secs uint32) {
	p.SessionExpiry = secs
	p.Present.Add(packets.PropSessionExpiry)
}

// TestV5ReceiveMaximumLimitsInflight: the broker never has more unacknowledged
// QoS>0 PUBLISHes towards a client than its Receive Maximum [MQTT-3.3.4-7].
func TestV5ReceiveMaximumLimitsInflight(t *testing.T) {
	b, addr := startBroker(t)
	c := dialRaw(t, addr)
	p := connect5("rm", true)
	p.Properties.ReceiveMaximum = 2
	p.Properties.Present.Add(packets.PropReceiveMaximum)
	c.connect(p, packets.Success)
	c.subscribe(1, "rm", 1)
	for i := range 5 {
		if err := b.Publish("rm", []byte{byte(i)}, 1, false); err != nil {
			t.Fatal(err)
		}
	}
	first := c.next().(*packets.Publish)
	second := c.next().(*packets.Publish)
	if extra, err := c.tryNext(200 * time.Millisecond); err == nil {
		t.Fatalf("third PUBLISH %#v beyond receive maximum 2", extra)
	}
	c.send(&packets.Ack{Kind: packets.PUBACK, PacketID: first.PacketID})
	third := c.next().(*packets.Publish)
	if third.Payload[0] != 2 {
		t.Fatalf("got message %d, want 2", third.Payload[0])
	}
	_ = second
}

// TestV5MaximumPacketSizeDrops: a message larger than the client's Maximum
// Packet Size is dropped for that client and counted [MQTT-3.1.2-25].
func TestV5MaximumPacketSizeDrops(t *testing.T) {
	b, addr := startBroker(t)
	c := dialRaw(t, addr)
	p := connect5("mps", true)
	p.Properties.MaximumPacketSize = 64
	p.Properties.Present.Add(packets.PropMaximumPacketSize)
	c.connect(p, packets.Success)
	c.subscribe(1, "m", 0)
	if err := b.Publish("m", make([]byte, 200), 0, false); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish("m", []byte("small"), 0, false); err != nil {
		t.Fatal(err)
	}
	c.expectPublish("m", "small")
	if b.Stats().Dropped != 1 {
		t.Fatalf("dropped %d, want 1", b.Stats().Dropped)
	}
}

// TestV5SessionExpiry: clean start 0 with expiry resumes; expiry 0 ends the
// session at disconnect [MQTT-3.1.2-23].
func TestV5SessionExpiry(t *testing.T) {
	b, addr := startBroker(t)
	c := dialRaw(t, addr)
	p := connect5("exp", false)
	withExpiry(&p.Properties, 1)
	c.connect(p, packets.Success)
	c.subscribe(1, "e", 1)
	c.send(&packets.Disconnect{})
	c.expectClosed()
	if err := b.Publish("e", []byte("queued"), 1, false); err != nil {
		t.Fatal(err)
	}
	c = dialRaw(t, addr)
	if ack := c.connect(p, packets.Success); !ack.SessionPresent {
		t.Fatal("session within its expiry not present")
	}
	c.expectPublish("e", "queued")
	c.send(&packets.Disconnect{})
	c.expectClosed()
	// After the expiry interval the session is gone.
	checkFor(t, 3*time.Second, func() error {
		if n := b.Stats().Sessions; n != 0 {
			return errorf("%d sessions, want 0 after expiry", n)
		}
		return nil
	})
	c = dialRaw(t, addr)
	if ack := c.connect(p, packets.Success); ack.SessionPresent {
		t.Fatal("expired session still present")
	}
	// Expiry 0: gone at once.
	c.send(&packets.Disconnect{})
	c.expectClosed()
	c = dialRaw(t, addr)
	if ack := c.connect(connect5("zero", false), packets.Success); ack.SessionPresent {
		t.Fatal("unexpected session")
	}
	c.send(&packets.Disconnect{})
	c.expectClosed()
	c = dialRaw(t, addr)
	if ack := c.connect(connect5("zero", false), packets.Success); ack.SessionPresent {
		t.Fatal("session with expiry 0 survived its connection")
	}
}

func TestV5TakeoverSendsDisconnect(t *testing.T) {
	_, addr := startBroker(t)
	a := dialRaw(t, addr)
	a.connect(connect5("dup", true), packets.Success)
	b2 := dialRaw(t, addr)
	b2.connect(connect5("dup", true), packets.Success)
	pk := a.next()
	d, ok := pk.(*packets.Disconnect)
	if !ok || d.ReasonCode != packets.SessionTakenOver {
		t.Fatalf("got %#v, want DISCONNECT 0x8E", pk)
	}
	a.expectClosed()
}

func TestV5TopicAliasInbound(t *testing.T) {
	b, addr := startBroker(t)
	got := make(chan string, 2)
	cancel, err := b.Subscribe("alias/#", 0, func(m *broker.Message) { got <- m.Topic })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	c := dialRaw(t, addr)
	c.connect(connect5("al", true), packets.Success)
	p := &packets.Publish{Topic: []byte("alias/one"), Payload: []byte("1")}
	p.Properties.TopicAlias = 3
	p.Properties.Present.Add(packets.PropTopicAlias)
	c.send(p)
	p2 := &packets.Publish{Payload: []byte("2")}
	p2.Properties.TopicAlias = 3
	p2.Properties.Present.Add(packets.PropTopicAlias)
	c.send(p2)
	for range 2 {
		select {
		case topic := <-got:
			if topic != "alias/one" {
				t.Fatalf("topic %q", topic)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("message lost")
		}
	}
	// Alias 0 is a protocol error: DISCONNECT 0x94 [MQTT-3.3.2-8].
	p3 := &packets.Publish{Topic: []byte("alias/x")}
	p3.Properties.TopicAlias = 0
	p3.Properties.Present.Add(packets.PropTopicAlias)
	raw, err := p3.Append(nil, packets.V5)
	if err != nil {
		t.Skip("codec refuses to encode alias 0:", err)
	}
	c.write(raw)
	pk := c.next()
	if d, ok := pk.(*packets.Disconnect); !ok || !d.ReasonCode.IsError() {
		t.Fatalf("got %#v, want DISCONNECT with an error code", pk)
	}
	c.expectClosed()
}

// TestV5TopicAliasOutbound: to a client that allows aliases, a topic is sent
// once with its alias, then as the alias alone.
func TestV5TopicAliasOutbound(t *testing.T) {
	b, addr := startBroker(t)
	c := dialRaw(t, addr)
	p := connect5("alias-out", true)
	p.Properties.TopicAliasMaximum = 2
	p.Properties.Present.Add(packets.PropTopicAliasMaximum)
	c.connect(p, packets.Success)
	c.subscribe(1, "long/topic/name/#", 0)
	for _, topic := range []string{"long/topic/name/a", "long/topic/name/a", "long/topic/name/b", "long/topic/name/c", "long/topic/name/b"} {
		if err := b.Publish(topic, []byte("x"), 0, false); err != nil {
			t.Fatal(err)
		}
	}
	want := []struct {
		topic string
		alias uint16
	}{{"long/topic/name/a", 1}, {"", 1}, {"long/topic/name/b", 2}, {"long/topic/name/c", 0}, {"", 2}}
	for i, w := range want {
		pk := c.next().(*packets.Publish)
		if string(pk.Topic) != w.topic || pk.Properties.TopicAlias != w.alias {
			t.Fatalf("message %d: topic %q alias %d, want %q alias %d", i, pk.Topic, pk.Properties.TopicAlias, w.topic, w.alias)
		}
	}
}
