package broker_test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
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
			br, addr := startBroker(b, broker.WithStorage(be.open(b)))
			sub := dialRaw(b, addr)
			sub.connect(connectPacket("durable", false), packets.Success)
			sub.subscribe(1, "d/#", 1)
			_ = sub.nc.SetWriteDeadline(time.Time{}) // acks are written for as long as the run lasts
			var got, bad atomic.Int64
			var lastErr atomic.Value
			go func() {
				var ack []byte
				for {
					_ = sub.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
					fh, body, err := sub.r.Next()
					if err != nil {
						lastErr.Store(fmt.Sprintf("reader exit after %d: %v", got.Load(), err))
						return
					}
					var p packets.Publish
					if err := p.Decode(fh.Flags, body, packets.V311); err != nil {
						bad.Add(1)
						lastErr.Store(fmt.Sprintf("%v %v", fh.Type, err))
					} else {
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
			if n := got.Load(); n < int64(per*pubs) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				_ = os.WriteFile("/tmp/stacks.txt", buf, 0o644)
				b.Fatalf("subscriber got %d of %d messages; broker %+v; %s", n, per*pubs, br.Stats(), fmt.Sprint("client: bad=", bad.Load(), " ", lastErr.Load()))
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
