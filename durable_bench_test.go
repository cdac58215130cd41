package broker_test

import (
	"path/filepath"
	"testing"

	"github.com/ternmq/broker/internal/benchtest"
	"github.com/ternmq/broker/storage/bolt"
	"github.com/ternmq/broker/storage/memory"
)

// BenchmarkDurableQoS1 measures QoS 1 throughput to a persistent subscriber
// per backend (storage/etcd has its own, with an embedded etcd).
func BenchmarkDurableQoS1(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchtest.DurableQoS1(b, memory.New()) })
	for _, m := range []struct {
		name string
		mode bolt.SyncMode
	}{{"bolt-none", bolt.SyncNone}, {"bolt-batch", bolt.SyncBatch}, {"bolt-always", bolt.SyncAlways}} {
		b.Run(m.name, func(b *testing.B) {
			st, err := bolt.Open(filepath.Join(b.TempDir(), "tern.db"), bolt.WithSync(m.mode))
			if err != nil {
				b.Fatal(err)
			}
			benchtest.DurableQoS1(b, st)
		})
	}
}
