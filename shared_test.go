package broker_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// TestSharedSubscriptionRoundRobin: one delivery per group, members in
// turn, v3.1.1 and v5 members alike; no retained message on a shared
// subscription [MQTT-4.8.2].
func TestSharedSubscriptionRoundRobin(t *testing.T) {
	b, addr := startBroker(t)
	if err := b.Publish("jobs/old", []byte("retained"), 0, true); err != nil {
		t.Fatal(err)
	}
	var members []*rawClient
	for i := range 3 {
		c := dialRaw(t, addr)
		if i == 2 {
			c.connect(connect5(fmt.Sprint("m", i), true), packets.Success)
		} else {
			c.connect(connectPacket(fmt.Sprint("m", i), true), packets.Success)
		}
		c.subscribe(1, "$share/workers/jobs/#", 1)
		members = append(members, c)
	}
	for i := range 6 {
		if err := b.Publish("jobs/new", []byte(fmt.Sprint(i)), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range members {
		for range 2 {
			p := c.next().(*packets.Publish)
			if string(p.Payload) == "retained" {
				t.Fatalf("member %d got the retained message on a shared subscription", i)
			}
			c.send(&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
		}
		if extra, err := c.tryNext(100 * time.Millisecond); err == nil {
			t.Fatalf("member %d got a third message %#v", i, extra)
		}
	}
}

// TestSharedSubscriptionRedistributesOnDisconnect: a member that leaves with
// unacknowledged QoS 1 messages has them sent to another member.
func TestSharedSubscriptionRedistributesOnDisconnect(t *testing.T) {
	b, addr := startBroker(t, broker.WithSharedStrategy(broker.Sticky))
	first := dialRaw(t, addr)
	first.connect(connectPacket("first", true), packets.Success)
	first.subscribe(1, "$share/g/work", 1)
	second := dialRaw(t, addr)
	second.connect(connectPacket("second", true), packets.Success)
	second.subscribe(1, "$share/g/work", 1)
	for i := range 5 {
		if err := b.Publish("work", []byte(fmt.Sprint(i)), 1, false); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 { // sticky: all to the first member, which acknowledges none
		first.expectPublish("work", fmt.Sprint(i))
	}
	_ = first.NC.Close()
	for i := range 5 {
		p := second.expectPublish("work", fmt.Sprint(i))
		second.send(&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
	}
}

// TestSharedStrategies: every strategy delivers each message to exactly one
// member; hash strategies keep a publisher (or topic) on one member; least
// in-flight avoids a member with unacknowledged messages.
func TestSharedStrategies(t *testing.T) {
	for _, st := range []struct {
		name string
		s    broker.SharedStrategy
	}{{"random", broker.Random}, {"hash-client", broker.HashClient}, {"hash-topic", broker.HashTopic}, {"least-inflight", broker.LeastInflight}} {
		t.Run(st.name, func(t *testing.T) {
			_, addr := startBroker(t, broker.WithSharedStrategy(st.s))
			var members []*rawClient
			for i := range 3 {
				c := dialRaw(t, addr)
				c.connect(connectPacket(fmt.Sprint(st.name, i), true), packets.Success)
				c.subscribe(1, "$share/g/s/#", 1)
				members = append(members, c)
			}
			pub := dialRaw(t, addr)
			pub.connect(connectPacket("pub-"+st.name, true), packets.Success)
			const n = 30
			for i := range n {
				pub.send(&packets.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: []byte("s/one"), Payload: []byte(fmt.Sprint(i))})
				pub.next()
			}
			counts := make([]int, len(members))
			total := 0
			for i, c := range members {
				for {
					pk, err := c.tryNext(200 * time.Millisecond)
					if err != nil {
						break
					}
					counts[i]++
					total++
					if st.s != broker.LeastInflight { // least in-flight: leave them unacknowledged
						c.send(&packets.Ack{Kind: packets.PUBACK, PacketID: pk.(*packets.Publish).PacketID})
					}
				}
			}
			if total != n {
				t.Fatalf("%d deliveries for %d messages (%v)", total, n, counts)
			}
			switch st.s {
			case broker.HashClient, broker.HashTopic:
				if !slicesContains(counts, n) {
					t.Fatalf("one publisher and one topic spread over members: %v", counts)
				}
			case broker.LeastInflight:
				for _, k := range counts {
					if k < n/3-1 || k > n/3+1 {
						t.Fatalf("least in-flight did not balance unacknowledged messages: %v", counts)
					}
				}
			}
		})
	}
}

func slicesContains(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
