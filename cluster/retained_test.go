package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
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

func TestRetainedSetWrittenOnce(t *testing.T) {
	// A retained set forwarded to the other nodes updates their indexes
	// only (broker.Message.RetainStored): the publisher's node wrote the
	// shared store, so three nodes make one etcd write, not three.
	tc := newCluster(t, 3)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wc := cli.Watch(ctx, tc.prefix, clientv3.WithPrefix(), clientv3.WithFilterDelete())
	var mu sync.Mutex
	puts := 0
	go func() {
		for resp := range wc {
			for _, ev := range resp.Events {
				if strings.HasSuffix(string(ev.Kv.Key), "retained/rs/once") {
					mu.Lock()
					puts++
					mu.Unlock()
				}
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // the watch is established
	setter, _ := dial(t, tc.nodes[0].addr, "setter", nil)
	setter.publish("rs/once", "v", 1, true)
	for _, tn := range tc.nodes {
		if ms, err := tn.b.Retained("rs/once"); err != nil || len(ms) != 1 {
			t.Fatalf("node %s: %d retained messages (%v) after PUBACK, want 1", tn.id, len(ms), err)
		}
	}
	time.Sleep(time.Second) // writes by the other nodes would have come by now
	mu.Lock()
	defer mu.Unlock()
	if puts != 1 {
		t.Errorf("%d etcd writes of the retained message, want 1", puts)
	}
}
