package cluster

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/ternmq/broker"
)

func TestDeadNodeSessionsAreAdopted(t *testing.T) {
	// Messages published after a node died, before its clients came back
	// elsewhere, are queued for its persistent sessions by the member that
	// adopts them, and delivered when the client resumes on any node.
	tc := newClusterTTL(t, 3, 2*time.Second)
	y, _ := dial(t, tc.nodes[2].addr, "y", &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: paho.Uint32(300)}})
	y.subscribe("ad/#", 1)
	tc.nodes[2].crash()
	checkFor(t, 10*time.Second, func() error {
		if st := tc.nodes[0].n.Stats(); st.Adopted != 1 || st.Peers != 1 {
			return fmt.Errorf("node 0: %d adopted, %d peers", st.Adopted, st.Peers)
		}
		return nil
	})
	pub, _ := dial(t, tc.nodes[1].addr, "pub", nil)
	for i := range 10 {
		pub.publish("ad/x", fmt.Sprint(i), 1, false)
	}
	y2, ack := dial(t, tc.nodes[1].addr, "y", persistent())
	if !ack.SessionPresent {
		t.Fatal("session not present")
	}
	got := y2.waitFor(10)
	for i, m := range got[:10] {
		if string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("message %d is %q", i, m.Payload)
		}
	}
	checkFor(t, 5*time.Second, func() error {
		if n := tc.nodes[0].n.Stats().Adopted; n != 0 {
			return fmt.Errorf("node 0 still holds %d adopted sessions", n)
		}
		return nil
	})
	pub.publish("ad/x", "end", 1, false)
	if got := y2.until("ad/x", "end"); len(got) != 10 {
		t.Fatalf("got %d messages, want 10", len(got))
	}
}

func TestAdoptedSessionExpiresOnce(t *testing.T) {
	// An adopted session expires on its adopter's timer, with its stored
	// state [MQTT-3.1.2-23]: the client then starts afresh. Its 5 s outlive
	// the lease (2 s) and the adoption.
	tc := newClusterTTL(t, 3, 2*time.Second)
	y, _ := dial(t, tc.nodes[2].addr, "short", &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: paho.Uint32(5)}})
	y.subscribe("ex/#", 1)
	tc.nodes[2].crash()
	checkFor(t, 10*time.Second, func() error {
		if n := tc.nodes[0].n.Stats().Adopted; n != 1 {
			return fmt.Errorf("node 0 adopted %d sessions", n)
		}
		return nil
	})
	checkFor(t, 10*time.Second, func() error {
		if n := tc.nodes[0].n.Stats().Adopted; n != 0 {
			return fmt.Errorf("node 0 still holds %d adopted sessions", n)
		}
		if _, err := tc.nodes[0].store.Sessions().Get(context.Background(), "short"); err == nil {
			return fmt.Errorf("the expired session is still stored")
		}
		return nil
	})
	_, ack := dial(t, tc.nodes[1].addr, "short", persistent())
	if ack.SessionPresent {
		t.Fatal("an expired session was resumed")
	}
}

func TestAdoptedSessionKeepsBrokerRules(t *testing.T) {
	// The adopter's broker holds a dead node's sessions (AdoptSession) and
	// routes to them by its own rules: No Local [MQTT-3.8.3-3] for a message
	// published elsewhere on behalf of the session's client (its origin
	// travels), and the Subscription Identifier [MQTT-3.3.4-3] on what it
	// queued. "y" resumes on a third node, "z" on the adopter.
	tc := newClusterTTL(t, 3, 2*time.Second)
	y, _ := dial(t, tc.nodes[2].addr, "y", persistent())
	subscribe(t, y, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "ar/#", QoS: 1, NoLocal: true}}})
	z, _ := dial(t, tc.nodes[2].addr, "z", persistent())
	subID := 9
	subscribe(t, z, &paho.Subscribe{
		Subscriptions: []paho.SubscribeOptions{{Topic: "ar/#", QoS: 1}},
		Properties:    &paho.SubscribeProperties{SubscriptionIdentifier: &subID},
	})
	tc.nodes[2].crash()
	checkFor(t, 10*time.Second, func() error {
		if st := tc.nodes[0].n.Stats(); st.Adopted != 2 || st.Peers != 1 {
			return fmt.Errorf("node 0: %d adopted, %d peers", st.Adopted, st.Peers)
		}
		return nil
	})

	// Published on node 1 for "y" (a bridge's in-process client, say):
	// forwarded to node 0 with its origin.
	if _, err := tc.nodes[1].b.PublishMessage(t.Context(), &broker.Message{Topic: "ar/x", Payload: []byte("own"), QoS: 1, ClientID: "y"}); err != nil {
		t.Fatal(err)
	}
	pub, _ := dial(t, tc.nodes[1].addr, "pub", nil)
	for i := range 3 {
		pub.publish("ar/x", fmt.Sprint(i), 1, false)
	}

	y2, ack := dial(t, tc.nodes[1].addr, "y", persistent())
	if !ack.SessionPresent {
		t.Fatal("y: session not present on a third node")
	}
	z2, ack := dial(t, tc.nodes[0].addr, "z", persistent())
	if !ack.SessionPresent {
		t.Fatal("z: session not present on the adopter")
	}
	checkFor(t, 5*time.Second, func() error {
		if n := tc.nodes[0].n.Stats().Adopted; n != 0 {
			return fmt.Errorf("node 0 still has %d adopted sessions", n)
		}
		return nil
	})
	pub.publish("ar/end", "end", 1, false)
	if got := payloads(y2.until("ar/end", "end")); !slices.Equal(got, []string{"ar/x=0", "ar/x=1", "ar/x=2"}) {
		t.Errorf("y got %q before the end marker, want 0 1 2 (not its own message: No Local)", got)
	}
	got := z2.until("ar/end", "end")
	if p := payloads(got); !slices.Equal(p, []string{"ar/x=own", "ar/x=0", "ar/x=1", "ar/x=2"}) {
		t.Fatalf("z got %q before the end marker, want own 0 1 2", p)
	}
	for _, m := range got {
		if id := m.Properties.SubscriptionIdentifier; id == nil || *id != subID {
			t.Errorf("z: %q delivered with subscription identifier %v, want 9", m.Payload, id)
		}
	}
}

// subscribe sends s and fails the test unless every filter is granted.
func subscribe(t *testing.T, c *client, s *paho.Subscribe) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sa, err := c.Subscribe(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range sa.Reasons {
		if r >= 0x80 {
			t.Fatalf("filter %d refused: %#x", i, r)
		}
	}
}

func TestAdoptionLeavesSessionsClaimedByLiveMembers(t *testing.T) {
	// A client that comes back on a live member just before the adoption
	// claims there and, a moment later, has that member write held/: an
	// adopter that took held/ in between loads a copy after its broker saw
	// the claim, which therefore does not make it drop the copy. The
	// adopter checks the claim and lets the copy go; without the check,
	// two nodes held (and queued for) the session. The test makes the race
	// certain by writing held/ back to the dead node.
	tc := newClusterTTL(t, 3, 2*time.Second)
	y, _ := dial(t, tc.nodes[2].addr, "y", persistent())
	y.subscribe("cl/#", 1)
	tc.nodes[2].crash()
	y2, ack := dial(t, tc.nodes[1].addr, "y", persistent())
	if !ack.SessionPresent {
		t.Fatal("session not resumed")
	}
	cli, k := tc.nodes[0].n.cli, tc.nodes[0].n.heldKey("y")
	held := func() string {
		resp, err := cli.Get(context.Background(), k)
		if err != nil || len(resp.Kvs) == 0 {
			return ""
		}
		return string(resp.Kvs[0].Value)
	}
	checkFor(t, 5*time.Second, func() error {
		if h := held(); h != tc.nodes[1].id {
			return fmt.Errorf("held/y is %q", h)
		}
		return nil
	})
	if err := y2.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(context.Background(), k, tc.nodes[2].id); err != nil { // the race, made certain
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		// node 0 takes the record (n2 → n0), loads the session, sees the
		// claim and lets both go.
		if h := held(); h == tc.nodes[2].id || h == tc.nodes[0].id {
			return fmt.Errorf("held/y is %q", h)
		}
		if _, ok := tc.nodes[0].b.Session("y"); ok {
			return fmt.Errorf("node 0 holds a copy of a session node 1 holds")
		}
		return nil
	})
	if n := tc.nodes[0].n.Stats().Adopted; n != 0 {
		t.Fatalf("node 0 adopted %d sessions", n)
	}
	if _, ok := tc.nodes[1].b.Session("y"); !ok {
		t.Fatal("node 1 lost the session")
	}
}
