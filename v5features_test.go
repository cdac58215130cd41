package broker_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// TestSysTopics: $SYS values are published retained, on an interval, and
// only to subscriptions that name $SYS explicitly [MQTT-4.7.2-1].
func TestSysTopics(t *testing.T) {
	_, addr := startBroker(t, broker.WithSysInterval(50*time.Millisecond))
	all := dialRaw(t, addr)
	all.connect(connectPacket("all", true), packets.Success)
	all.subscribe(1, "#", 0)
	sys := dialRaw(t, addr)
	sys.connect(connectPacket("sys", true), packets.Success)
	sys.subscribe(1, "$SYS/broker/clients/connected", 0)
	p := sys.next().(*packets.Publish)
	if !p.Retain {
		t.Fatal("first $SYS value on subscribe is not retained")
	}
	checkFor(t, 5*time.Second, func() error {
		p := sys.next().(*packets.Publish)
		if n, err := strconv.Atoi(string(p.Payload)); err != nil || n != 2 {
			return errorf("clients/connected = %q, want 2", p.Payload)
		}
		return nil
	})
	if pk, err := all.tryNext(200 * time.Millisecond); err == nil {
		t.Fatalf("'#' received %#v", pk)
	}
	v := dialRaw(t, addr)
	v.connect(connectPacket("v", true), packets.Success)
	v.subscribe(1, "$SYS/broker/version", 0)
	if p := v.next().(*packets.Publish); !strings.HasPrefix(string(p.Payload), "tern") {
		t.Fatalf("version %q", p.Payload)
	}
}

// TestV5DisabledFeatures: capabilities switched off are advertised in CONNACK
// and enforced with their reason codes.
func TestV5DisabledFeatures(t *testing.T) {
	_, addr := startBroker(t, broker.WithMaximumQoS(1), broker.WithoutRetain(), broker.WithoutWildcardSubscriptions(),
		broker.WithoutSubscriptionIdentifiers(), broker.WithoutSharedSubscriptions(), broker.WithResponseInformation("resp/"))
	c := dialRaw(t, addr)
	p := connect5("feat", true)
	p.Properties.RequestResponseInfo = 1
	p.Properties.Present.Add(packets.PropRequestResponseInfo)
	ack := c.connect(p, packets.Success)
	pr := ack.Properties
	for _, x := range []struct {
		id   packets.PropID
		name string
		got  byte
	}{
		{packets.PropMaximumQoS, "maximum QoS", pr.MaximumQoS},
		{packets.PropRetainAvailable, "retain available", pr.RetainAvailable},
		{packets.PropWildcardSubAvailable, "wildcard available", pr.WildcardSubAvailable},
		{packets.PropSubIDAvailable, "subscription ids available", pr.SubIDAvailable},
		{packets.PropSharedSubAvailable, "shared available", pr.SharedSubAvailable},
	} {
		want := byte(0)
		if x.id == packets.PropMaximumQoS {
			want = 1
		}
		if !pr.Present.Has(x.id) || x.got != want {
			t.Errorf("CONNACK %s: present=%v value=%d, want %d [MQTT-3.2.2.3]", x.name, pr.Present.Has(x.id), x.got, want)
		}
	}
	if string(pr.ResponseInfo) != "resp/feat/" {
		t.Errorf("response information %q", pr.ResponseInfo)
	}
	c.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{
		{Filter: []byte("a/+"), QoS: 1}, {Filter: []byte("$share/g/a"), QoS: 1}, {Filter: []byte("a/b"), QoS: 2},
	}})
	sa := c.next().(*packets.Suback)
	want := []packets.ReasonCode{packets.WildcardSubscriptionsNotSupported, packets.SharedSubscriptionsNotSupported, packets.GrantedQoS1}
	for i, w := range want {
		if sa.ReasonCodes[i] != w {
			t.Errorf("SUBACK code %d = %v, want %v", i, sa.ReasonCodes[i], w)
		}
	}
	for _, tc := range []struct {
		name string
		pk   packets.Packet
		code packets.ReasonCode
	}{
		{"QoS 2 above maximum [MQTT-3.2.2-11]", &packets.Publish{QoS: 2, PacketID: 1, Topic: []byte("a")}, packets.QoSNotSupported},
		{"retain unavailable [MQTT-3.2.2-14]", &packets.Publish{Retain: true, Topic: []byte("a")}, packets.RetainNotSupported},
		{"subscription identifier unavailable", func() packets.Packet {
			s := &packets.Subscribe{PacketID: 2, Subscriptions: []packets.Subscription{{Filter: []byte("x")}}}
			s.Properties.SubscriptionIDs = []uint32{5}
			s.Properties.Present.Add(packets.PropSubscriptionID)
			return s
		}(), packets.SubscriptionIdentifiersNotSupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialRaw(t, addr)
			c.connect(connect5("f-"+tc.name[:4], true), packets.Success)
			c.send(tc.pk)
			d, ok := c.next().(*packets.Disconnect)
			if !ok || d.ReasonCode != tc.code {
				t.Fatalf("got %#v, want DISCONNECT %v", d, tc.code)
			}
			c.expectClosed()
		})
	}
}

// TestV5ServerKeepAliveAndWillProperties: a keep alive above the maximum is
// lowered with Server Keep Alive [MQTT-3.2.2-21]; will properties reach the
// will's subscribers.
func TestV5ServerKeepAliveAndWillProperties(t *testing.T) {
	_, addr := startBroker(t, broker.WithLimits(broker.Limits{KeepAliveMax: 10}))
	w := dialRaw(t, addr)
	w.connect(connect5("w", true), packets.Success)
	w.subscribe(1, "lw/#", 0)
	c := dialRaw(t, addr)
	p := connect5("ka", true)
	p.KeepAlive = 100
	p.WillFlag, p.WillTopic, p.WillPayload = true, []byte("lw/ka"), []byte("bye")
	p.WillProperties.ContentType = []byte("text/plain")
	p.WillProperties.Present.Add(packets.PropContentType)
	p.WillProperties.User = []packets.UserProperty{{Key: []byte("k"), Value: []byte("v")}}
	ack := c.connect(p, packets.Success)
	if !ack.Properties.Present.Has(packets.PropServerKeepAlive) || ack.Properties.ServerKeepAlive != 10 {
		t.Fatalf("server keep alive %v %d, want 10", ack.Properties.Present.Has(packets.PropServerKeepAlive), ack.Properties.ServerKeepAlive)
	}
	_ = c.NC.Close()
	got := w.expectPublish("lw/ka", "bye")
	if string(got.Properties.ContentType) != "text/plain" || len(got.Properties.User) != 1 || string(got.Properties.User[0].Value) != "v" {
		t.Fatalf("will properties %+v", got.Properties)
	}
}
