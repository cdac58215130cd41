package cluster

import (
	"fmt"
	"testing"
)

func TestSharedGroupExactlyOnceCluster(t *testing.T) {
	// A group with members on every node gets each message once
	// cluster-wide [MQTT-4.8.2]: the publisher's node picks the node that
	// serves the group, and the other nodes skip it, also when a plain
	// subscription there (or a retained message, sent to every node) makes
	// that node a target of the message.
	tc := newCluster(t, 3)
	var members []*client
	for i, tn := range tc.nodes {
		m, _ := dial(t, tn.addr, fmt.Sprint("m", i), nil)
		m.subscribe("$share/g/sh/#", 1)
		m.subscribe("sh-end/#", 1)
		members = append(members, m)
	}
	obs, _ := dial(t, tc.nodes[1].addr, "obs", nil)
	obs.subscribe("sh/t", 1)
	for _, tt := range []struct {
		name   string
		node   int
		retain bool
	}{
		{"publisher on a node with a plain subscriber elsewhere", 0, false},
		{"retained, sent to every node", 2, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, m := range members {
				m.mu.Lock()
				m.msgs = nil
				m.mu.Unlock()
			}
			pub, _ := dial(t, tc.nodes[tt.node].addr, "pub", nil)
			const n = 300
			for i := range n {
				pub.publish("sh/t", fmt.Sprint(i), 1, tt.retain)
			}
			// One publisher, one order on every path: a member has all its
			// copies once it has the end marker.
			end := fmt.Sprint("sh-end/", tt.node)
			pub.publish(end, "end", 1, false)
			seen := map[string]int{}
			per := make([]int, len(members))
			for i, m := range members {
				for _, p := range m.until(end, "end") {
					seen[string(p.Payload)]++
					per[i]++
				}
			}
			t.Logf("copies per member: %v", per)
			if len(seen) != n {
				t.Errorf("%d of %d messages delivered to the group", len(seen), n)
			}
			for k, v := range seen {
				if v != 1 {
					t.Errorf("message %s delivered %d times to the group", k, v)
				}
			}
			for i, c := range per {
				if c == 0 {
					t.Errorf("the member on node %d got nothing: %v", i, per)
				}
			}
		})
	}
	if got := len(obs.received()); got != 600 {
		t.Errorf("plain subscriber got %d, want 600", got)
	}
}
