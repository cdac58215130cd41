package broker_test

import (
	"context"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

func expectDisconnect(t *testing.T, c *rawClient, code packets.ReasonCode) {
	t.Helper()
	pk := c.next()
	if d, ok := pk.(*packets.Disconnect); !ok || d.ReasonCode != code {
		t.Fatalf("got %#v, want DISCONNECT %v (0x%02x)", pk, code, byte(code))
	}
	c.expectClosed()
}

func TestServerLimitsReasonCodes(t *testing.T) {
	t.Run("redirect 0x9C with server reference [MQTT-4.11]", func(t *testing.T) {
		_, addr := startBroker(t, broker.WithRedirect("other.example:1883", false))
		c := dialRaw(t, addr)
		ack := c.connect(connect5("r", true), packets.UseAnotherServer)
		if string(ack.Properties.ServerReference) != "other.example:1883" {
			t.Fatalf("server reference %q", ack.Properties.ServerReference)
		}
		v3 := dialRaw(t, addr)
		v3.connect(connectPacket("r3", true), packets.ServerUnavailable)
	})
	t.Run("server moved 0x9D", func(t *testing.T) {
		_, addr := startBroker(t, broker.WithRedirect("new.example", true))
		dialRaw(t, addr).connect(connect5("m", true), packets.ServerMoved)
	})
	t.Run("connection rate 0x9F", func(t *testing.T) {
		_, addr := startBroker(t, broker.WithLimits(broker.Limits{ConnectRate: 1}))
		dialRaw(t, addr).connect(connect5("a", true), packets.Success)
		dialRaw(t, addr).connect(connect5("b", true), packets.ConnectionRateExceeded)
	})
	t.Run("connection limit 0x97", func(t *testing.T) {
		_, addr := startBroker(t, broker.WithLimits(broker.Limits{MaxConnections: 1}))
		dialRaw(t, addr).connect(connect5("a", true), packets.Success)
		dialRaw(t, addr).connect(connect5("b", true), packets.QuotaExceeded)
	})
	t.Run("publish rate 0x96", func(t *testing.T) {
		_, addr := startBroker(t, broker.WithLimits(broker.Limits{PublishRate: 2}))
		c := dialRaw(t, addr)
		c.connect(connect5("fast", true), packets.Success)
		for range 3 {
			c.send(&packets.Publish{Topic: []byte("r"), Payload: []byte("x")})
		}
		expectDisconnect(t, c, packets.MessageRateTooHigh)
	})
	t.Run("subscription quota 0x97", func(t *testing.T) {
		_, addr := startBroker(t, broker.WithLimits(broker.Limits{MaxSubscriptions: 1}))
		c := dialRaw(t, addr)
		c.connect(connect5("subs", true), packets.Success)
		sa := sub5(c, 1, 0, packets.Subscription{Filter: []byte("a")}, packets.Subscription{Filter: []byte("a")}, packets.Subscription{Filter: []byte("b")})
		want := []packets.ReasonCode{packets.GrantedQoS0, packets.GrantedQoS0, packets.QuotaExceeded}
		for i, w := range want {
			if sa.ReasonCodes[i] != w {
				t.Fatalf("code %d: %v, want %v", i, sa.ReasonCodes[i], w)
			}
		}
	})
	t.Run("packet too large 0x95", func(t *testing.T) {
		_, addr := startBroker(t, broker.WithLimits(broker.Limits{MaxPacketSize: 100}))
		c := dialRaw(t, addr)
		c.connect(connect5("big", true), packets.Success)
		c.send(&packets.Publish{Topic: []byte("t"), Payload: make([]byte, 200)})
		expectDisconnect(t, c, packets.PacketTooLarge)
	})
	t.Run("keep alive timeout 0x8D", func(t *testing.T) {
		_, addr := startBroker(t)
		c := dialRaw(t, addr)
		p := connect5("ka", true)
		p.KeepAlive = 1
		c.connect(p, packets.Success)
		expectDisconnect(t, c, packets.KeepAliveTimeout)
	})
	t.Run("shutdown 0x8B", func(t *testing.T) {
		b, addr := startBroker(t)
		c := dialRaw(t, addr)
		c.connect(connect5("bye", true), packets.Success)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		go func() { _ = b.Shutdown(ctx) }()
		expectDisconnect(t, c, packets.ServerShuttingDown)
	})
}

type denyTopic string

func (d denyTopic) CanPublish(_ *broker.ClientInfo, topic string) bool    { return topic != string(d) }
func (d denyTopic) CanSubscribe(_ *broker.ClientInfo, filter string) bool { return filter != string(d) }

// TestV5AckReasonCodes: PUBACK 0x87 for a refused topic, SUBACK 0x87,
// UNSUBACK 0x11 for a filter with no subscription, and a PUBREC with an
// error code ending the QoS 2 flow [MQTT-4.3.3].
func TestV5AckReasonCodes(t *testing.T) {
	b, addr := startBroker(t, broker.WithAuthorizer(broker.SimpleAuthorizer(denyTopic("secret"))))
	c := dialRaw(t, addr)
	c.connect(connect5("codes", true), packets.Success)
	c.send(&packets.Publish{QoS: 1, PacketID: 1, Topic: []byte("secret"), Payload: []byte("x")})
	if a := c.next().(*packets.Ack); a.ReasonCode != packets.NotAuthorized {
		t.Fatalf("PUBACK %v, want 0x87", a.ReasonCode)
	}
	if sa := sub5(c, 2, 0, packets.Subscription{Filter: []byte("secret")}, packets.Subscription{Filter: []byte("open"), QoS: 2}); sa.ReasonCodes[0] != packets.NotAuthorized || sa.ReasonCodes[1] != packets.GrantedQoS2 {
		t.Fatalf("SUBACK %v", sa.ReasonCodes)
	}
	c.send(&packets.Unsubscribe{PacketID: 3, Filters: [][]byte{[]byte("open"), []byte("never")}})
	ua := c.next().(*packets.Unsuback)
	if ua.ReasonCodes[0] != packets.Success || ua.ReasonCodes[1] != packets.NoSubscriptionExisted {
		t.Fatalf("UNSUBACK %v, want [success, 0x11]", ua.ReasonCodes)
	}
	sub5(c, 4, 0, packets.Subscription{Filter: []byte("q2"), QoS: 2})
	for range 2 {
		if err := b.Publish("q2", []byte("x"), 2, false); err != nil {
			t.Fatal(err)
		}
	}
	first := c.next().(*packets.Publish)
	second := c.next().(*packets.Publish)
	c.send(&packets.Ack{Kind: packets.PUBREC, PacketID: first.PacketID, ReasonCode: packets.UnspecifiedError})
	c.send(&packets.Ack{Kind: packets.PUBREC, PacketID: second.PacketID})
	// No PUBREL for the refused one: the next packet is the PUBREL of the second.
	if a := c.next().(*packets.Ack); a.Kind != packets.PUBREL || a.PacketID != second.PacketID {
		t.Fatalf("got %v %d, want PUBREL %d", a.Kind, a.PacketID, second.PacketID)
	}
}
