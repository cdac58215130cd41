package cluster

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
)

func TestWillsOfDeadNodeClients(t *testing.T) {
	// The clients of a crashed node lose their connections without
	// DISCONNECT: their wills are published once, cluster-wide, by the
	// node that adopts the dead node's sessions, after their Will Delay
	// Interval [MQTT-3.1.2-8, MQTT-3.1.3-9]; a client that connected again
	// elsewhere meanwhile keeps its delayed will unpublished.
	tc := newClusterTTL(t, 3, 2*time.Second)
	w, _ := dial(t, tc.nodes[1].addr, "watcher", nil)
	w.subscribe("wills/#", 1)
	will := func(id string, delay uint32) *paho.Connect {
		cp := &paho.Connect{CleanStart: true, WillMessage: &paho.WillMessage{Topic: "wills/" + id, QoS: 1, Payload: []byte(id)}}
		if delay > 0 {
			cp.WillProperties = &paho.WillProperties{WillDelayInterval: paho.Uint32(delay)}
			cp.Properties = &paho.ConnectProperties{SessionExpiryInterval: paho.Uint32(300)}
		}
		return cp
	}
	dial(t, tc.nodes[2].addr, "doomed", will("doomed", 0))
	dial(t, tc.nodes[2].addr, "delayed", will("delayed", 1))
	dial(t, tc.nodes[2].addr, "back", will("back", 60))
	n0 := tc.nodes[0].n
	checkFor(t, 5*time.Second, func() error { // the claims follow CONNACK
		for _, id := range []string{"doomed", "delayed", "back"} {
			if resp, err := n0.cli.Get(context.Background(), n0.ownerKey(id)); err != nil || len(resp.Kvs) == 0 {
				return fmt.Errorf("no claim of %s yet (%v)", id, err)
			}
		}
		return nil
	})
	tc.nodes[2].crashKeepingWills()
	// "back" returns on node 1 before node 2's lease expires.
	dial(t, tc.nodes[1].addr, "back", persistent())

	w.waitFor(2)
	pub, _ := dial(t, tc.nodes[0].addr, "pub", nil)
	pub.publish("wills/end", "end", 1, false)
	got := map[string]int{}
	for _, m := range w.until("wills/end", "end") {
		got[string(m.Payload)]++
	}
	if got["doomed"] != 1 || got["delayed"] != 1 || len(got) != 2 {
		t.Fatalf("wills published: %v, want doomed and delayed once each", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, id := range []string{"doomed", "delayed"} {
		if _, err := tc.nodes[0].store.Wills().Get(ctx, id); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the will of %s is still stored: %v", id, err)
		}
	}
}

// crashKeepingWills stops the node as a crash would for the others and
// for the shared store: the lease is not revoked, and the broker's closing
// finds its store gone, so the wills and claims of its clients stay in
// etcd, as after a SIGKILL.
func (tn *testNode) crashKeepingWills() {
	tn.once.Do(func() {
		tn.n.lease.Store(0)
		_ = tn.n.Close()
		_ = tn.store.Close()
		_ = tn.b.Close()
	})
}

func TestRestartedNodeKeepsOthersWills(t *testing.T) {
	// A restarted node's broker is built WithoutWillRestore: the wills of
	// clients connected to other, live, nodes stay stored and unpublished
	// (its broker used to publish and delete every will of the shared
	// store at New), and such a will is published once, when its client's
	// connection ends abnormally [MQTT-3.1.2-8].
	tc := newCluster(t, 2)
	watch, _ := dial(t, tc.nodes[1].addr, "watch", persistent())
	watch.subscribe("wills/#", 1)
	_ = watch.Disconnect(&paho.Disconnect{})
	dial(t, tc.nodes[0].addr, "alive", &paho.Connect{CleanStart: true, WillMessage: &paho.WillMessage{Topic: "wills/alive", QoS: 1, Payload: []byte("alive")}})
	waitClaims(t, tc.nodes[0].n, "alive")

	tc.nodes[1].stop()
	tn := tc.start("n1")
	tc.waitMesh()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := tn.store.Wills().Get(ctx, "alive"); err != nil {
		t.Fatalf("the will of a client connected to another node is gone after a restart: %v", err)
	}
	watch, _ = dial(t, tn.addr, "watch", persistent())
	if err := tc.nodes[0].b.Disconnect("alive", packets.AdministrativeAction, ""); err != nil {
		t.Fatal(err)
	}
	watch.waitFor(1)
	pub, _ := dial(t, tc.nodes[0].addr, "pub", nil)
	pub.publish("wills/end", "end", 1, false)
	if got := watch.until("wills/end", "end"); len(got) != 1 || string(got[0].Payload) != "alive" {
		t.Fatalf("watcher got %d messages (%v), want the will of alive once", len(got), payloads(got))
	}
}

func TestRestartedNodePublishesItsClientsWills(t *testing.T) {
	// A node that crashed with clients connected publishes their wills
	// when it starts again, once: those whose claim names its previous
	// broker instance [MQTT-3.1.2-8]. One node: no other member adopts.
	tc := newClusterTTL(t, 1, 2*time.Second)
	watch, _ := dial(t, tc.nodes[0].addr, "watch", persistent())
	watch.subscribe("wills/#", 1)
	_ = watch.Disconnect(&paho.Disconnect{})
	dial(t, tc.nodes[0].addr, "mine", &paho.Connect{CleanStart: true, WillMessage: &paho.WillMessage{Topic: "wills/mine", QoS: 1, Payload: []byte("mine")}})
	waitClaims(t, tc.nodes[0].n, "mine")

	tc.nodes[0].crashKeepingWills()
	tn := tc.start("n0") // waits for the crashed instance's lease to expire
	watch, _ = dial(t, tn.addr, "watch", persistent())
	watch.waitFor(1)
	pub, _ := dial(t, tn.addr, "pub", nil)
	pub.publish("wills/end", "end", 1, false)
	if got := watch.until("wills/end", "end"); len(got) != 1 || string(got[0].Payload) != "mine" {
		t.Fatalf("watcher got %d messages (%v), want the will of mine once", len(got), payloads(got))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := tn.store.Wills().Get(ctx, "mine"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the published will is still stored: %v", err)
	}
}

// waitClaims waits until the clients' claims are in etcd (they follow
// CONNACK).
func waitClaims(t *testing.T, n *Node, ids ...string) {
	t.Helper()
	checkFor(t, 5*time.Second, func() error {
		for _, id := range ids {
			if resp, err := n.cli.Get(context.Background(), n.ownerKey(id)); err != nil || len(resp.Kvs) == 0 {
				return fmt.Errorf("no claim of %s yet (%v)", id, err)
			}
		}
		return nil
	})
}

func payloads(ms []*paho.Publish) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Topic + "=" + string(m.Payload)
	}
	return out
}

func TestTwoCrashesInARowPublishEveryWill(t *testing.T) {
	// A node crashes with a client connected; it restarts, and crashes
	// again before it published that client's (delayed) will, with another
	// client connected. The next start publishes both wills, once each
	// [MQTT-3.1.2-8]: brokers/<id> lists every instance whose wills are not
	// all published. Before, it named the last instance only, and the
	// first client's will stayed stored, unpublished.
	tc := newClusterTTL(t, 1, 2*time.Second)
	watch, _ := dial(t, tc.nodes[0].addr, "watch", persistent())
	watch.subscribe("wills/#", 1)
	_ = watch.Disconnect(&paho.Disconnect{})
	withWill := func(id string, delay uint32) *paho.Connect {
		return &paho.Connect{CleanStart: true,
			WillMessage:    &paho.WillMessage{Topic: "wills/" + id, QoS: 1, Payload: []byte(id)},
			WillProperties: &paho.WillProperties{WillDelayInterval: paho.Uint32(delay)},
			Properties:     &paho.ConnectProperties{SessionExpiryInterval: paho.Uint32(300)},
		}
	}
	dial(t, tc.nodes[0].addr, "first", withWill("first", 3))
	waitClaims(t, tc.nodes[0].n, "first")
	tc.nodes[0].crashKeepingWills()

	second := tc.start("n0") // its will of first waits 3 s: it crashes before
	dial(t, second.addr, "second", withWill("second", 0))
	waitClaims(t, second.n, "second")
	second.crashKeepingWills()

	third := tc.start("n0")
	watch, _ = dial(t, third.addr, "watch", persistent())
	watch.waitFor(2)
	pub, _ := dial(t, third.addr, "pub", nil)
	pub.publish("wills/end", "end", 1, false)
	got := map[string]int{}
	for _, m := range watch.until("wills/end", "end") {
		got[string(m.Payload)]++
	}
	if got["first"] != 1 || got["second"] != 1 || len(got) != 2 {
		t.Fatalf("wills published: %v, want first and second once each", got)
	}
	checkFor(t, 5*time.Second, func() error { // every will done: the list holds the running instance only
		ids, err := third.n.previousBrokers(context.Background())
		if err != nil {
			return err
		}
		if len(ids) != 1 || ids[0] != third.b.ID() {
			return fmt.Errorf("brokers/n0 lists %v, want only %s", ids, third.b.ID())
		}
		return nil
	})
}
