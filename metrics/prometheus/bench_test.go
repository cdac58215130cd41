package prometheus

import (
	"testing"
	"time"

	"github.com/ternmq/broker/packets"
)

// BenchmarkMetricsHotPath is what the broker calls per QoS 0 message on
// the fan-in path, from many goroutines at once: the PUBLISH received,
// the message published, routed (timed for one message in 64) and sent,
// the delivery done. Every call must be allocation-free (-benchmem: 0
// allocs/op).
func BenchmarkMetricsHotPath(b *testing.B) {
	m := New()
	listener := string([]byte("tcp")) // not a constant: looked up like the broker's
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		n := 0
		for pb.Next() {
			m.PacketReceived(listener, packets.PUBLISH, 80)
			m.MessagePublished(listener, 0)
			if n++; n%64 == 0 {
				m.MessageRouted(time.Microsecond)
			}
			m.PacketSent(listener, packets.PUBLISH, 80)
			m.MessageDelivered(0)
		}
	})
}

// BenchmarkMetricsConnectionEvents covers the per-connection and gauge
// events.
func BenchmarkMetricsConnectionEvents(b *testing.B) {
	m := New()
	b.ReportAllocs()
	for b.Loop() {
		m.ClientConnected("tcp")
		m.Sessions(1)
		m.Subscriptions(1)
		m.StorageCall("append", time.Microsecond, nil)
		m.MessageDropped("queue_full")
		m.ConnectRefused("tcp", packets.NotAuthorized)
		m.ClientDisconnected("tcp", time.Second)
	}
}

// TestMetricsHotPathAllocatesNothing keeps the benchmark's promise in the
// test suite, where benchmarks do not run.
func TestMetricsHotPathAllocatesNothing(t *testing.T) {
	m := New()
	listener := string([]byte("tcp"))
	m.PacketReceived(listener, packets.PUBLISH, 80) // first use makes the children
	m.PacketSent(listener, packets.PUBLISH, 80)
	m.StorageCall("append", time.Microsecond, nil)
	m.ConnectRefused(listener, packets.NotAuthorized)
	allocs := testing.AllocsPerRun(1000, func() {
		m.PacketReceived(listener, packets.PUBLISH, 80)
		m.MessagePublished(listener, 1)
		m.MessageRouted(time.Microsecond)
		m.PacketDecoded(time.Microsecond)
		m.PacketSent(listener, packets.PUBLISH, 80)
		m.MessageDelivered(1)
		m.MessageRetried(1)
		m.MessageDropped("queue_full")
		m.Retained(1)
		m.StorageCall("append", time.Microsecond, nil)
		m.ClientConnected(listener)
		m.ConnectRefused(listener, packets.NotAuthorized)
		m.ClientDisconnected(listener, time.Second)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round of events, want 0", allocs)
	}
}

// BenchmarkMetricsHotPathSerial is BenchmarkMetricsHotPath on one goroutine.
func BenchmarkMetricsHotPathSerial(b *testing.B) {
	m := New()
	listener := string([]byte("tcp"))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		m.PacketReceived(listener, packets.PUBLISH, 80)
		m.MessagePublished(listener, 0)
		if n++; n%64 == 0 {
			m.MessageRouted(time.Microsecond)
		}
		m.PacketSent(listener, packets.PUBLISH, 80)
		m.MessageDelivered(0)
	}
}
