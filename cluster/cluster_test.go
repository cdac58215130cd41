package cluster

import (
	"fmt"
	"testing"
)

func TestCrossNodePublishSubscribe(t *testing.T) {
	tc := newCluster(t, 3)
	for _, qos := range []byte{0, 1, 2} {
		t.Run(fmt.Sprintf("QoS%d", qos), func(t *testing.T) {
			topic := fmt.Sprintf("x/%d", qos)
			sub, _ := dial(t, tc.nodes[0].addr, fmt.Sprintf("sub%d", qos), nil)
			sub.subscribe(topic, qos)
			pub, _ := dial(t, tc.nodes[1].addr, fmt.Sprintf("pub%d", qos), nil)
			const n = 100
			for i := range n {
				pub.publish(topic, fmt.Sprint(i), qos, false)
			}
			pub.publish(topic, "end", qos, false)
			got := sub.until(topic, "end")
			if len(got) != n {
				t.Fatalf("got %d messages, want %d", len(got), n)
			}
			for i, m := range got {
				if string(m.Payload) != fmt.Sprint(i) {
					t.Fatalf("message %d is %q: out of order", i, m.Payload)
				}
				if m.QoS != qos {
					t.Fatalf("message %d at QoS %d, want %d", i, m.QoS, qos)
				}
				for _, u := range m.Properties.User {
					if u.Key == markerKey {
						t.Fatalf("the cluster marker reached a subscriber")
					}
				}
			}
		})
	}
}
