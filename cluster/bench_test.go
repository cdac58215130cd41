package cluster

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// BenchmarkDelivery compares a subscriber on the publisher's node (local)
// with one on another node (cross): QoS 0 throughput (pipelined) and QoS 1
// latency (one message at a time, publish to receipt).
//
//	go test -run '^$' -bench Delivery -benchtime 3000x ./cluster
func BenchmarkDelivery(b *testing.B) {
	for _, mode := range []string{"local", "cross"} {
		for _, qos := range []byte{0, 1} {
			b.Run(fmt.Sprintf("%s/QoS%d", mode, qos), func(b *testing.B) {
				tc := newCluster(b, 2)
				subNode := tc.nodes[0]
				if mode == "cross" {
					subNode = tc.nodes[1]
				}
				var got atomic.Int64
				lat := make([]time.Duration, 0, b.N)
				done := make(chan struct{}, 1)
				sub := benchClient(b, subNode.addr, "sub", func(p *paho.Publish) {
					sent := int64(binary.BigEndian.Uint64(p.Payload))
					if qos == 1 {
						lat = append(lat, time.Duration(time.Now().UnixNano()-sent))
					}
					if got.Add(1) == int64(b.N) {
						done <- struct{}{}
					}
					if qos == 1 {
						select {
						case done <- struct{}{}:
						default:
						}
					}
				})
				ctx := context.Background()
				if _, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "bench/t", QoS: qos}}}); err != nil {
					b.Fatal(err)
				}
				pub := benchClient(b, tc.nodes[0].addr, "pub", nil)
				payload := make([]byte, 64)
				b.ResetTimer()
				start := time.Now()
				for range b.N {
					binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
					if _, err := pub.Publish(ctx, &paho.Publish{Topic: "bench/t", QoS: qos, Payload: payload}); err != nil {
						b.Fatal(err)
					}
					if qos == 1 {
						<-done // one at a time: latency, not throughput
					}
				}
				if qos == 0 {
					select {
					case <-done:
					case <-time.After(30 * time.Second):
						b.Fatalf("received %d of %d", got.Load(), b.N)
					}
				}
				el := time.Since(start)
				b.StopTimer()
				b.ReportMetric(float64(b.N)/el.Seconds(), "msg/s")
				if len(lat) > 0 {
					slices.Sort(lat)
					b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
					b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
				}
			})
		}
	}
}

func benchClient(b *testing.B, addr, id string, fn func(*paho.Publish)) *paho.Client {
	c, _ := dial(b, addr, id, nil)
	if fn != nil {
		c.Client.AddOnPublishReceived(func(r paho.PublishReceived) (bool, error) {
			fn(r.Packet)
			return true, nil
		})
	}
	return c.Client
}
