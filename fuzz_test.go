package broker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// FuzzConversation connects to a live broker (MQTT 5 or 3.1.1), sends any
// bytes after the CONNECT, and then checks that a new client is still
// served: whatever one client sends, the broker answers it or closes its
// connection, and goes on serving the others. A subscriber to "#" takes
// what the conversations publish, so that routing and delivery run too.
func FuzzConversation(f *testing.F) {
	_, addr := startBroker(f, broker.WithLimits(broker.Limits{MaxInflight: 4, MaxQueuedMessages: 16}))
	sub := dialRaw(f, addr)
	sub.connect(connect5("fuzz-sub", true), packets.Success)
	sub.subscribe(1, "#", 2)
	go func() { // drain, acknowledging nothing: its queue stays bounded
		buf := make([]byte, 64<<10)
		for {
			if _, err := sub.NC.Read(buf); err != nil {
				return
			}
		}
	}()

	enc := func(v packets.Version, ps ...packets.Packet) []byte {
		var b []byte
		for _, p := range ps {
			var err error
			if b, err = p.Append(b, v); err != nil {
				f.Fatal(err)
			}
		}
		return b
	}
	alias := packets.Properties{TopicAlias: 1}
	alias.Present.Add(packets.PropTopicAlias)
	subID := packets.Properties{SubscriptionIDs: []uint32{7}}
	subID.Present.Add(packets.PropSubscriptionID)
	for _, v := range []packets.Version{packets.V5, packets.V311} {
		seeds := []packets.Packet{
			&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("a/+"), QoS: 2}, {Filter: []byte("$share/g/b/#"), QoS: 1}}},
			&packets.Publish{QoS: 1, PacketID: 2, Topic: []byte("a/b"), Payload: []byte("x")},
			&packets.Publish{QoS: 2, PacketID: 3, Topic: []byte("b/c"), Retain: true, Payload: []byte("y")},
			&packets.Ack{Kind: packets.PUBREL, PacketID: 3},
			&packets.Ack{Kind: packets.PUBACK, PacketID: 1},
			&packets.Unsubscribe{PacketID: 4, Filters: [][]byte{[]byte("a/+")}},
			&packets.Pingreq{},
		}
		if v == packets.V5 {
			seeds = append(seeds,
				&packets.Publish{Topic: []byte("c"), Properties: alias, Payload: []byte("z")},
				&packets.Publish{Properties: alias, Payload: []byte("again")},
				&packets.Subscribe{PacketID: 5, Properties: subID, Subscriptions: []packets.Subscription{{Filter: []byte("c"), NoLocal: true, RetainHandling: 2}}},
				&packets.Auth{ReasonCode: packets.ReAuthenticate},
			)
		}
		f.Add(v == packets.V5, enc(v, seeds...))
		f.Add(v == packets.V5, enc(v, &packets.Disconnect{}))
	}
	f.Add(true, []byte{0x30, 0xff, 0xff, 0xff, 0x7f})
	f.Add(false, []byte{0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00})

	n := 0
	f.Fuzz(func(t *testing.T, v5 bool, after []byte) {
		n++
		c := dialRaw(t, addr)
		p := connect5(fmt.Sprintf("fuzz-%d", n%8), n%2 == 0)
		if !v5 {
			p.Version = packets.V311
			c.V = packets.V311
		}
		c.connect(p, packets.Success)
		_ = c.NC.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.NC.Write(after)
		// Read what comes back until the broker closes or goes quiet.
		_ = c.NC.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		buf := make([]byte, 4096)
		for {
			if _, err := c.NC.Read(buf); err != nil {
				break
			}
		}
		_ = c.NC.Close()

		probe := dialRaw(t, addr)
		probe.connect(connect5("fuzz-probe", true), packets.Success)
		probe.send(&packets.Pingreq{})
		if _, ok := probe.next().(*packets.Pingresp); !ok {
			t.Fatal("no PINGRESP after the conversation")
		}
		_ = probe.NC.Close()
	})
}
