package cluster

import (
	"fmt"
	"testing"
)

func TestRetainedClearSynchronous(t *testing.T) {
	// A retained clear (empty payload [MQTT-3.3.1-10]) is forwarded to every
	// node like a set: once a QoS 1 clear is acknowledged, no node returns
	// the old message, without waiting for etcd's watch.
	tc := newCluster(t, 3)
	setter, _ := dial(t, tc.nodes[0].addr, "setter", nil)
	clearer, _ := dial(t, tc.nodes[1].addr, "clearer", nil)
	const n = 30
	stale := 0
	for i := range n {
		topic := fmt.Sprint("rc/", i)
		setter.publish(topic, "old", 1, true)
		clearer.publish(topic, "", 1, true)
		for _, tn := range tc.nodes {
			ms, err := tn.b.Retained(topic)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != 0 {
				stale++
			}
		}
	}
	if stale != 0 {
		t.Errorf("%d of %d node indexes still held the cleared message after PUBACK", stale, 3*n)
	}
	// And a SUBSCRIBE on a third node right after the clear's PUBACK.
	setter.publish("rc/sub", "old", 1, true)
	clearer.publish("rc/sub", "", 1, true)
	sub, _ := dial(t, tc.nodes[2].addr, "sub", nil)
	sub.subscribe("rc/sub", 1)
	clearer.publish("rc/sub", "marker", 1, false)
	if got := sub.until("rc/sub", "marker"); len(got) != 0 {
		t.Errorf("the subscriber got %d messages before the marker, want none (the retained message was cleared)", len(got))
	}
}
