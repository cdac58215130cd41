package broker_test

import (
	"sync/atomic"
	"testing"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// countHook counts the messages the PublishHooks see.
type countHook struct{ n atomic.Int64 }

func (h *countHook) OnPublish(*broker.ClientInfo, *broker.Message) error { h.n.Add(1); return nil }

// TestPublishForwardedSkipsTheHooks: a message another broker accepted
// (its PublishHooks ran there) is delivered without running this broker's
// PublishHooks and without counting as received here, keeps its origin for
// No Local [MQTT-3.8.3-3], and sets the retained message [MQTT-3.3.1-5].
func TestPublishForwardedSkipsTheHooks(t *testing.T) {
	h := &countHook{}
	b, addr := startBroker(t, broker.WithHooks(h))
	sub := dialRaw(t, addr)
	sub.connect(connect5("sub", true), packets.Success)
	sub.subscribe(1, "fw/#", 1)
	nl := &packets.Subscribe{PacketID: 2, Subscriptions: []packets.Subscription{{Filter: []byte("own/#"), QoS: 1, NoLocal: true}}}
	sub.send(nl)
	sub.next() // SUBACK
	received := b.Stats().MessagesReceived

	ctx := t.Context()
	if _, err := b.PublishForwarded(ctx, &broker.Message{Topic: "own/x", Payload: []byte("mine"), QoS: 1, ClientID: "sub"}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.PublishForwarded(ctx, &broker.Message{Topic: "fw/x", Payload: []byte("v"), QoS: 1, Retain: true, ClientID: "elsewhere"}); err != nil || n != 1 {
		t.Fatalf("PublishForwarded: %d deliveries, %v; want 1", n, err)
	}
	p := sub.expectPublish("fw/x", "v") // own/x not delivered: No Local
	sub.send(&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
	if got := h.n.Load(); got != 0 {
		t.Errorf("the PublishHooks saw %d forwarded messages, want 0", got)
	}
	if got := b.Stats().MessagesReceived - received; got != 0 {
		t.Errorf("%d forwarded messages counted as received, want 0", got)
	}
	if ms, _ := b.Retained("fw/x"); len(ms) != 1 {
		t.Errorf("%d retained messages on fw/x, want 1", len(ms))
	}
	if err := b.Publish("fw/y", []byte("host"), 0, false); err != nil {
		t.Fatal(err)
	}
	sub.expectPublish("fw/y", "host")
	if got := h.n.Load(); got != 1 {
		t.Errorf("the PublishHooks saw %d host publishes, want 1", got)
	}
}

// TestSharedGroupsOnly: a message restricted to some shared groups with
// SharedGroupsOnly reaches a member of those groups and no plain
// subscriber, and sets no retained message: the host gives a group a
// message the broker's other subscribers already had.
func TestSharedGroupsOnly(t *testing.T) {
	b, addr := startBroker(t)
	plain := dialRaw(t, addr)
	plain.connect(connect5("plain", true), packets.Success)
	plain.subscribe(1, "go/#", 1)
	member := dialRaw(t, addr)
	member.connect(connect5("member", true), packets.Success)
	member.subscribe(1, "$share/g/go/#", 1)

	ctx := t.Context()
	m := &broker.Message{Topic: "go/x", Payload: []byte("group"), QoS: 1, Retain: true,
		SharedGroups: []string{"$share/g/go/#"}, SharedGroupsOnly: true}
	if n, err := b.PublishForwarded(ctx, m); err != nil || n != 1 {
		t.Fatalf("PublishForwarded: %d deliveries, %v; want 1", n, err)
	}
	p := member.expectPublish("go/x", "group")
	member.send(&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
	if ms, _ := b.Retained("go/#"); len(ms) != 0 {
		t.Errorf("%d retained messages, want 0 (a groups-only message sets none)", len(ms))
	}
	if err := b.Publish("go/end", []byte("end"), 1, false); err != nil {
		t.Fatal(err)
	}
	p = plain.expectPublish("go/end", "end") // and nothing before it
	plain.send(&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
}
