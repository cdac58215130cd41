package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestWillOfConnectionToDeadNode(t *testing.T) {
	// A client whose node died connects to another node before the dead
	// node's wills are published: the will of its old connection, which
	// ended abnormally, is still published, once [MQTT-3.1.2-8] — with no
	// Will Delay Interval, or with one when the new connection ends the
	// session (clean start) [MQTT-3.1.3-9]. The new connection's will is
	// not. A client whose node is alive gets its will published once: by
	// that node, as before, or, a delayed will that node drops with the
	// session a clean start ended, by the node it connected to. Before,
	// the will of a client that came back before the adopter published it
	// was lost, and so was that delayed one.
	tc := newClusterTTL(t, 3, 2*time.Second)
	tc.waitMesh()
	n0, n1, n2 := tc.nodes[0], tc.nodes[1], tc.nodes[2]
	watch, _ := dial(t, n0.addr, "watch", nil)
	watch.subscribe("wills/#", 1)
	withWill := func(payload string, delay uint32) *paho.Connect {
		cp := &paho.Connect{CleanStart: true, WillMessage: &paho.WillMessage{Topic: "wills/" + payload, QoS: 1, Payload: []byte(payload)}}
		if delay > 0 {
			cp.WillProperties = &paho.WillProperties{WillDelayInterval: paho.Uint32(delay)}
			cp.Properties = &paho.ConnectProperties{SessionExpiryInterval: paho.Uint32(300)}
		}
		return cp
	}
	dial(t, n0.addr, "alive", withWill("alive", 0))
	dial(t, n0.addr, "slow", withWill("slow", 60))
	dial(t, n2.addr, "quick", withWill("quick", 0))
	dial(t, n2.addr, "later", withWill("later", 60))
	waitClaims(t, n0.n, "alive", "slow", "quick", "later")
	n2.crashKeepingWills()

	// Within n2's lease, still a member: the will is moved aside, and
	// published once n2 has left.
	dial(t, n1.addr, "quick", withWill("quick-new", 0))
	// n0 is alive: it publishes the will itself, the copy is dropped; a
	// delayed will it drops with the session that the clean start ends:
	// the copy is published.
	dial(t, n1.addr, "alive", nil)
	dial(t, n1.addr, "slow", nil)
	// After n2 left: its broker is dead, the will due (the clean start
	// ends the session with the 60 s delay) is published at once.
	checkFor(t, 10*time.Second, func() error {
		if live, _ := n1.n.liveBroker(n2.b.ID()); live {
			return fmt.Errorf("n2 still a member")
		}
		return nil
	})
	dial(t, n1.addr, "later", nil)

	checkFor(t, 15*time.Second, func() error { // every copy moved aside decided
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := n1.n.cli.Get(ctx, n1.n.key("wills/"), clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			return err
		}
		if resp.Count != 0 {
			return fmt.Errorf("%d wills still moved aside", resp.Count)
		}
		return nil
	})
	pub, _ := dial(t, n0.addr, "pub", nil)
	pub.publish("wills/end", "end", 1, false)
	got := map[string]int{}
	for _, m := range watch.until("wills/end", "end") {
		got[string(m.Payload)]++
	}
	if got["alive"] != 1 || got["slow"] != 1 || got["quick"] != 1 || got["later"] != 1 || len(got) != 4 {
		t.Errorf("wills published: %v, want alive, slow, quick and later once each", got)
	}
}
