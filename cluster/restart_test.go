package cluster

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/ternmq/broker/storage"
)

func TestRestartedNodeReleasesOthersSessions(t *testing.T) {
	// A restarted node's broker restores every persistent session of the
	// shared store; the node keeps those held/ says are its own and
	// releases the others, so that they run no expiry timer there and a
	// message published there is not queued for them twice.
	tc := newCluster(t, 3)
	mine, _ := dial(t, tc.nodes[2].addr, "mine", persistent())
	mine.subscribe("rs/#", 1)
	_ = mine.Disconnect(&paho.Disconnect{})
	roam, _ := dial(t, tc.nodes[2].addr, "roam", persistent())
	roam.subscribe("rs/#", 1)
	_ = roam.Disconnect(&paho.Disconnect{})
	roam, _ = dial(t, tc.nodes[1].addr, "roam", persistent()) // now held by n1
	checkFor(t, 5*time.Second, func() error {
		if _, ok := tc.nodes[2].b.Session("roam"); ok {
			return fmt.Errorf("n2 still holds roam")
		}
		return nil
	})

	tc.nodes[2].stop()
	tn := tc.start("n2")
	tc.waitMesh()
	if _, ok := tn.b.Session("roam"); ok {
		t.Error("the restarted node kept a copy of a session another node holds")
	}
	if _, ok := tn.b.Session("mine"); !ok {
		t.Error("the restarted node lost its own session")
	}
	if st := tn.n.Stats(); st.RoutesLocal != 1 {
		t.Errorf("restarted node routes %d filters, want 1 (its own session's)", st.RoutesLocal)
	}
	pub, _ := dial(t, tn.addr, "pub", nil)
	pub.publish("rs/a", "x", 1, false)
	pub.publish("rs/end", "end", 1, false)
	if got := roam.until("rs/end", "end"); len(got) != 1 {
		t.Errorf("roam got %d messages, want 1", len(got))
	}
	// Delivered and acknowledged: nothing left queued for roam in the
	// store (a stale copy on n2 would have queued its own, never sent).
	checkFor(t, 5*time.Second, func() error {
		queued := 0
		err := tn.store.Queues().Range(context.Background(), "roam", func(*storage.Queued) bool { queued++; return true })
		if err != nil || queued != 0 {
			return fmt.Errorf("%d messages stored in roam's queue (%v)", queued, err)
		}
		return nil
	})
}
