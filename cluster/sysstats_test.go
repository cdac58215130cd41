package cluster

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/broker"
)

func TestSysClusterCounts(t *testing.T) {
	// Each node publishes, with its own $SYS topics, sums over every node
	// under $SYS/broker/cluster/ (gathered through etcd every
	// StatsInterval, never per message).
	tc := &testCluster{statsEvery: 50 * time.Millisecond, sysEvery: 50 * time.Millisecond}
	tc.init(t, 2, 5*time.Second)
	dial(t, tc.nodes[1].addr, "c1", nil)
	dial(t, tc.nodes[1].addr, "c2", nil)
	var mu sync.Mutex
	got := map[string]string{}
	cancel, err := tc.nodes[0].b.Subscribe("$SYS/broker/#", 0, func(m *broker.Message) {
		mu.Lock()
		got[m.Topic] = string(m.Payload)
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	w, _ := dial(t, tc.nodes[0].addr, "w", nil) // one client here, two on n1
	w.subscribe("c/#", 1)
	checkFor(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		want := map[string]string{
			"$SYS/broker/clients/connected":           "1",
			"$SYS/broker/cluster/clients/connected":   "3",
			"$SYS/broker/cluster/nodes":               "2",
			"$SYS/broker/cluster/subscriptions/count": "2", // w's, and the $SYS callback
		}
		for k, v := range want {
			if got[k] != v {
				return fmt.Errorf("%s = %q, want %q (all: %v)", k, got[k], v, got)
			}
		}
		return nil
	})
}
