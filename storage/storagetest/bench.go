package storagetest

import (
	"bytes"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/ternmq/broker/storage"
)

// Bench runs the storage benchmarks against stores from newStore; each
// sub-benchmark gets a new store and closes it.
//
//   - QueueAppendRemove: one QoS 1 message with a 256-byte payload stored
//     and acknowledged (Append then Remove), from one goroutine.
//   - QueueAppendRemoveParallel: the same from 8 goroutines per CPU, each
//     its own client, which shows what group commit buys.
//   - RetainedSet: replacing retained messages across 1000 topics.
func Bench(b *testing.B, newStore func(b *testing.B) storage.Store) {
	open := func(b *testing.B) storage.Store {
		s := newStore(b)
		b.Cleanup(func() { _ = s.Close() })
		return s
	}
	msg := &storage.Message{Topic: "bench/sensors/42/temp", Payload: bytes.Repeat([]byte{'x'}, 256), QoS: 1}

	b.Run("QueueAppendRemove", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		q := s.Queues()
		b.ReportAllocs()
		for b.Loop() {
			seq, err := q.Append(ctx, "bench-client", msg)
			if err != nil {
				b.Fatal(err)
			}
			if err := q.Remove(ctx, "bench-client", seq); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("QueueAppendRemoveParallel", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		var clients atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(8)
		b.RunParallel(func(pb *testing.PB) {
			id := fmt.Sprint("bench-client-", clients.Add(1))
			q := s.Queues()
			for pb.Next() {
				seq, err := q.Append(ctx, id, msg)
				if err != nil {
					b.Error(err)
					return
				}
				if err := q.Remove(ctx, id, seq); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("RetainedSet", func(b *testing.B) {
		s := open(b)
		ctx := b.Context()
		msgs := make([]*storage.Message, 1000)
		for i := range msgs {
			m := *msg
			m.Topic = fmt.Sprintf("bench/retained/%d", i)
			m.Retain = true
			msgs[i] = &m
		}
		r := s.Retained()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if err := r.Set(ctx, msgs[i%len(msgs)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}
