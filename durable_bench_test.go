package broker_test

import (
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/storage/bolt"
	"github.com/ternmq/broker/storage/memory"
)

// BenchmarkDurableQoS1 measures QoS 1 throughput to a persistent
// subscriber (every delivery is written to storage before the publisher's
// PUBACK, and removed after the subscriber's): 10 publishers pipelining 100
// messages each, over loopback TCP. One op is one message.
func BenchmarkDurableQoS1(b *testing.B) {
	backends := []struct {
		name string
		open func(b *testing.B) storage.Store
	}{
		{"memory", func(*testing.B) storage.Store { return memory.New() }},
		{"bolt-none", boltStore(bolt.SyncNone)},
		{"bolt-batch", boltStore(bolt.SyncBatch)},
		{"bolt-always", boltStore(bolt.SyncAlways)},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			_, addr := startBroker(b, broker.WithStorage(be.open(b)))
			sub := dialRaw(b, addr)
			sub.connect(connectPacket("durable", false), packets.Success)
			sub.subscribe(1, "d/#", 1)
			var got atomic.Int64
			go func() {
				var ack []byte
				for {
					_ = sub.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
					fh, body, err := sub.r.Next()
					if err != nil {
						return
					}
					var p packets.Publish
					if p.Decode(fh.Flags, body, packets.V311) == nil {
						got.Add(1)
						ack, _ = (&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID}).Append(ack[:0], packets.V311)
						_, _ = sub.nc.Write(ack)
					}
				}
			}()
			const pubs, window = 10, 100
			per := max(b.N/pubs, 1)
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for i := range pubs {
				wg.Go(func() {
					c := dialRaw(b, addr)
					c.connect(connectPacket(fmt.Sprint("p", i), true), packets.Success)
					var out []byte
					for n := 0; n < per; n += window {
						out = out[:0]
						k := min(window, per-n)
						for j := range k {
							out, _ = (&packets.Publish{QoS: 1, PacketID: uint16(j + 1), Topic: []byte("d/x"), Payload: make([]byte, 64)}).Append(out, packets.V311)
						}
						c.write(out)
						for range k {
							c.next()
						}
					}
				})
			}
			wg.Wait()
			for got.Load() < int64(per*pubs) && time.Since(start) < 60*time.Second {
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(got.Load())/time.Since(start).Seconds(), "msg/s")
		})
	}
}

func boltStore(mode bolt.SyncMode) func(b *testing.B) storage.Store {
	return func(b *testing.B) storage.Store {
		st, err := bolt.Open(filepath.Join(b.TempDir(), "tern.db"), bolt.WithSync(mode))
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
}
