package broker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/storage/memory"
)

// sharedStore is a store several brokers of a test share: a broker that
// stops (its "death") leaves it open for the others.
type sharedStore struct{ storage.Store }

func (sharedStore) Close() error { return nil }

// leaveSession connects id to the broker at addr with a persistent
// session, makes the subscriptions subs (one SUBSCRIBE each) and
// disconnects, so that the session is stored, disconnected.
func leaveSession(t *testing.T, addr, id string, expiry uint32, subs ...*packets.Subscribe) {
	t.Helper()
	c := dialRaw(t, addr)
	p := connect5(id, true)
	withExpiry(&p.Properties, expiry)
	c.connect(p, packets.Success)
	for _, s := range subs {
		c.send(s)
		if sa, ok := c.next().(*packets.Suback); !ok || sa.PacketID != s.PacketID {
			t.Fatalf("got %#v, want SUBACK %d", sa, s.PacketID)
		}
	}
	c.send(&packets.Disconnect{})
	c.expectClosed()
}

// TestAdoptSessionRoutesByTheBrokersRules: broker B adopts a session
// broker A left in the shared store when it died. Messages published on B
// afterwards are routed to it as to any disconnected persistent session
// of B's: stored, bounded by B's queue limit, No Local honoured
// [MQTT-3.8.3-3], and delivered with their Subscription Identifier
// [MQTT-3.3.4-3] when the client resumes on B.
func TestAdoptSessionRoutesByTheBrokersRules(t *testing.T) {
	st := memory.New()
	b, addrB := startBroker(t, broker.WithStorage(sharedStore{st}), broker.WithLimits(broker.Limits{MaxQueuedMessages: 3}))
	a, addrA := startBroker(t, broker.WithStorage(sharedStore{st}))
	withID := &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("ad/#"), QoS: 1}}}
	withID.Properties.SubscriptionIDs = []uint32{7}
	withID.Properties.Present.Add(packets.PropSubscriptionID)
	noLocal := &packets.Subscribe{PacketID: 2, Subscriptions: []packets.Subscription{{Filter: []byte("own/#"), QoS: 1, NoLocal: true}}}
	leaveSession(t, addrA, "dev", 300, withID, noLocal)
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	ctx := t.Context()
	if err := b.AdoptSession(ctx, "nobody"); !errors.Is(err, broker.ErrNoSuchClient) {
		t.Fatalf("AdoptSession of no stored session: %v, want ErrNoSuchClient", err)
	}
	if n, _ := b.PublishMessage(ctx, &broker.Message{Topic: "ad/x", QoS: 1}); n != 0 {
		t.Fatalf("before AdoptSession: delivered to %d subscriptions, want 0", n)
	}
	for range 2 { // the second is a no-op
		if err := b.AdoptSession(ctx, "dev"); err != nil {
			t.Fatal(err)
		}
	}
	ss, ok := b.Session("dev")
	if !ok || ss.Connected || len(ss.Subscriptions) != 2 || ss.ExpiryInterval != 300 {
		t.Fatalf("adopted session: %+v, %v", ss, ok)
	}

	if _, err := b.PublishMessage(ctx, &broker.Message{Topic: "own/x", QoS: 1, Payload: []byte("mine"), ClientID: "dev"}); err != nil {
		t.Fatal(err)
	}
	for i := range 5 { // 3 fit in B's queue
		if _, err := b.PublishMessage(ctx, &broker.Message{Topic: "ad/x", QoS: 1, Payload: []byte(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	if ss, _ := b.Session("dev"); ss.Queued != 3 {
		t.Fatalf("%d queued, want 3 (No Local, MaxQueuedMessages)", ss.Queued)
	}
	stored := 0
	if err := st.Queues().Range(ctx, "dev", func(*storage.Queued) bool { stored++; return true }); err != nil || stored != 3 {
		t.Fatalf("%d stored deliveries (%v), want 3", stored, err)
	}

	c := dialRaw(t, addrB)
	p := connect5("dev", false)
	withExpiry(&p.Properties, 300)
	if ack := c.connect(p, packets.Success); !ack.SessionPresent {
		t.Fatal("adopted session not present")
	}
	for i := range 3 {
		pub := c.expectPublish("ad/x", fmt.Sprint(i))
		if !slices.Equal(pub.Properties.SubscriptionIDs, []uint32{7}) {
			t.Errorf("message %d: subscription identifiers %v, want [7]", i, pub.Properties.SubscriptionIDs)
		}
		c.send(&packets.Ack{Kind: packets.PUBACK, PacketID: pub.PacketID})
	}
	if err := b.Publish("ad/end", []byte("end"), 1, false); err != nil {
		t.Fatal(err)
	}
	pub := c.expectPublish("ad/end", "end") // nothing in between: own/x, ad/x 3 and 4 were not queued
	c.send(&packets.Ack{Kind: packets.PUBACK, PacketID: pub.PacketID})
}

// TestAdoptSessionExpiresOnThisBroker: the Session Expiry Interval of an
// adopted session runs on the adopter's timer, which deletes its stored
// state; the client then starts afresh [MQTT-3.1.2-23].
func TestAdoptSessionExpiresOnThisBroker(t *testing.T) {
	st := memory.New()
	b, addrB := startBroker(t, broker.WithStorage(sharedStore{st}))
	a, addrA := startBroker(t, broker.WithStorage(sharedStore{st}))
	sub := &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("ex/#"), QoS: 1}}}
	leaveSession(t, addrA, "brief", 2, sub)
	left := time.Now()
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	if err := b.AdoptSession(t.Context(), "brief"); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		if _, ok := b.Session("brief"); ok {
			return errors.New("the adopted session is still held")
		}
		if _, err := st.Sessions().Get(context.Background(), "brief"); !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("the expired session is still stored (%v)", err)
		}
		return nil
	})
	if d := time.Since(left); d < 2*time.Second {
		t.Fatalf("expired %v after the disconnection, before its interval of 2s", d)
	}
	c := dialRaw(t, addrB)
	if ack := c.connect(connect5("brief", false), packets.Success); ack.SessionPresent {
		t.Fatal("an expired session was resumed")
	}
}
