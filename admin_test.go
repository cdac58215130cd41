package broker_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// TestAdminAPI lists, inspects, kicks, moves and removes real clients.
func TestAdminAPI(t *testing.T) {
	b, addr := startBroker(t, broker.WithSysInterval(-1))
	expiry := uint32(300)
	v5c, _ := dialPaho5(t, addr, "admin-v5", &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
	if _, err := v5c.Subscribe(ctx10(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "a/+", QoS: 1}, {Topic: "b/#", QoS: 0}}}); err != nil {
		t.Fatal(err)
	}
	v3c := pahoClient(t, addr, "admin-v3", true)

	cl := b.Clients()
	if len(cl) != 2 || cl[0].ID != "admin-v3" || cl[1].ID != "admin-v5" {
		t.Fatalf("Clients() = %+v", cl)
	}
	if cl[1].Version != packets.V5 || cl[0].Version != packets.V311 || cl[1].Listener != "tcp" || cl[1].Remote == nil || cl[1].ConnectedAt.IsZero() {
		t.Fatalf("client facts wrong: %+v", cl)
	}
	st, ok := b.Session("admin-v5")
	if !ok || !st.Connected || st.ExpiryInterval != 300 || len(st.Subscriptions) != 2 ||
		st.Subscriptions[0] != (broker.Subscription{Filter: "a/+", QoS: 1}) || st.Subscriptions[1].Filter != "b/#" {
		t.Fatalf("Session = %+v", st)
	}

	// Move the v5 client elsewhere: DISCONNECT 0x9C with the reference.
	got := make(chan *paho.Disconnect, 1)
	dialPahoWithDisconnect(t, addr, "admin-mover", got)
	if err := b.Disconnect("admin-mover", packets.UseAnotherServer, "other.example:1883"); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-got:
		if d.ReasonCode != 0x9C || d.Properties == nil || d.Properties.ServerReference != "other.example:1883" {
			t.Fatalf("DISCONNECT %#x %+v", d.ReasonCode, d.Properties)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no DISCONNECT")
	}

	// Kick the 3.1.1 client; its session (clean) is gone.
	if err := b.Disconnect("admin-v3", packets.AdministrativeAction, ""); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, func() error {
		if v3c.IsConnectionOpen() {
			return errorf("3.1.1 client still connected")
		}
		return nil
	})
	if err := b.Disconnect("nobody", packets.AdministrativeAction, ""); !errors.Is(err, broker.ErrNoSuchClient) {
		t.Fatalf("Disconnect(nobody) = %v", err)
	}

	// Remove the persistent session: the client is disconnected (0x98) and
	// a later resume finds nothing.
	if err := b.RemoveSession("admin-v5"); err != nil {
		t.Fatal(err)
	}
	if _, ok := b.Session("admin-v5"); ok {
		t.Fatal("session still there after RemoveSession")
	}
	_, ack := dialPaho5(t, addr, "admin-v5", &paho.Connect{CleanStart: false, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}})
	if ack.SessionPresent {
		t.Fatal("removed session was resumed")
	}

	// Retained messages: list by filter, delete one.
	pub := pahoClient(t, addr, "admin-pub", true)
	wait(t, pub.Publish("r/1", 1, true, "one"))
	wait(t, pub.Publish("r/2", 1, true, "two"))
	checkFor(t, 5*time.Second, func() error {
		ms, err := b.Retained("r/#")
		if err != nil || len(ms) != 2 {
			return errorf("Retained = %d, %v", len(ms), err)
		}
		return nil
	})
	if err := b.DeleteRetained("r/1"); err != nil {
		t.Fatal(err)
	}
	ms, _ := b.Retained("r/#")
	if len(ms) != 1 || ms[0].Topic != "r/2" || string(ms[0].Payload) != "two" {
		t.Fatalf("after delete: %+v", ms)
	}
	sub := pahoClient(t, addr, "admin-sub", true)
	in := &inbox{}
	wait(t, sub.Subscribe("r/#", 1, in.handler))
	if got := in.waitFor(t, 1); len(got) != 1 || got[0].Topic() != "r/2" {
		t.Fatalf("subscriber got %d retained", len(got))
	}
}

// dialPahoWithDisconnect connects a paho.golang client that reports the
// server's DISCONNECT on got.
func dialPahoWithDisconnect(t *testing.T, addr, id string, got chan *paho.Disconnect) *paho.Client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: nc, OnServerDisconnect: func(d *paho.Disconnect) { got <- d }})
	if _, err := c.Connect(ctx10(t), &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	return c
}
