package broker_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage/memory"
)

// TestStoredDeliveriesKeepSubscriptionIdentifiers: deliveries queued for
// a disconnected persistent session are stored with the Subscription
// Identifiers of the subscriptions they matched, so that the client gets
// them [MQTT-3.3.4-3] also when it resumes from the store: on another
// broker sharing it (a cluster), or after a restart. Messages that matched
// no identified subscription come without one.
func TestStoredDeliveriesKeepSubscriptionIdentifiers(t *testing.T) {
	st := memory.New()
	a, addrA := startBroker(t, broker.WithStorage(sharedStore{st}))
	_, addrB := startBroker(t, broker.WithStorage(sharedStore{st}))
	sub := &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("id/#"), QoS: 1}}}
	sub.Properties.SubscriptionIDs = []uint32{42}
	sub.Properties.Present.Add(packets.PropSubscriptionID)
	plain := &packets.Subscribe{PacketID: 2, Subscriptions: []packets.Subscription{{Filter: []byte("plain/#"), QoS: 1}}}
	leaveSession(t, addrA, "dev", 300, sub, plain)
	for i := range 3 {
		if err := a.Publish("id/x", []byte(fmt.Sprint(i)), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Publish("plain/x", []byte("p"), 1, false); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	c := dialRaw(t, addrB)
	p := connect5("dev", false)
	withExpiry(&p.Properties, 300)
	if ack := c.connect(p, packets.Success); !ack.SessionPresent {
		t.Fatal("session not found in the shared store")
	}
	for i := range 3 {
		pub := c.expectPublish("id/x", fmt.Sprint(i))
		if !slices.Equal(pub.Properties.SubscriptionIDs, []uint32{42}) {
			t.Errorf("message %d: subscription identifiers %v, want [42]", i, pub.Properties.SubscriptionIDs)
		}
		c.send(&packets.Ack{Kind: packets.PUBACK, PacketID: pub.PacketID})
	}
	pub := c.expectPublish("plain/x", "p")
	if pub.Properties.Present.Has(packets.PropSubscriptionID) {
		t.Errorf("plain/x: subscription identifiers %v, want none", pub.Properties.SubscriptionIDs)
	}
}
