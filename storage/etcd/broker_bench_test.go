package etcd

import (
	"testing"
	"time"

	"github.com/ternmq/broker/internal/benchtest"
)

// BenchmarkBrokerDurableQoS1 is the broker's durable QoS 1 benchmark
// (benchtest.DurableQoS1) on this backend and the test etcd.
func BenchmarkBrokerDurableQoS1(b *testing.B) {
	benchtest.DurableQoS1(b, open(b, freshPrefix(), 10*time.Second))
}
