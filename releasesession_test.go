package broker_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// TestReleaseSession: Sessions lists connected and disconnected sessions;
// ReleaseSession drops a disconnected one's local copy (its subscriptions
// with it) and refuses a connected one.
func TestReleaseSession(t *testing.T) {
	b, addr := startBroker(t)
	p := connect5("kept", false)
	withExpiry(&p.Properties, 300)
	c := dialRaw(t, addr)
	c.connect(p, packets.Success)
	c.subscribe(1, "rel/#", 1)
	c.send(&packets.Disconnect{})
	c.expectClosed()
	on := dialRaw(t, addr)
	on.connect(connect5("online", true), packets.Success)

	if got := b.Sessions(); !slices.Equal(got, []string{"kept", "online"}) {
		t.Fatalf("Sessions() = %v", got)
	}
	if err := b.ReleaseSession("online"); err == nil {
		t.Error("released the session of a connected client")
	}
	checkFor(t, 2*time.Second, func() error { // the disconnect is processed asynchronously
		return b.ReleaseSession("kept")
	})
	if _, ok := b.Session("kept"); ok {
		t.Error("released session still held")
	}
	if err := b.ReleaseSession("kept"); !errors.Is(err, broker.ErrNoSuchClient) {
		t.Errorf("second release: %v, want ErrNoSuchClient", err)
	}
	if n, err := b.PublishMessage(t.Context(), &broker.Message{Topic: "rel/x", QoS: 1}); err != nil || n != 0 {
		t.Errorf("publish after release: %d subscribers, %v; want 0", n, err)
	}
}
