package prometheus

import (
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/packets"
)

// BenchmarkFanInQoS0 is mqttbench's fanin10-q0 in one process: 10
// publishers send QoS 0 PUBLISHes of 64 bytes over loopback TCP to one
// subscriber, at most 10,000 messages ahead of it, with these Metrics
// (on) and without (off). One op is one message; compare the msg/s of the
// two sub-benchmarks from one run (-count 3 alternates them).
func BenchmarkFanInQoS0(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			opts := []broker.Option{broker.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), broker.WithSysInterval(-1)}
			if on {
				opts = append(opts, broker.WithMetrics(New()))
			}
			l, err := tcp.New("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			br, err := broker.New(append(opts, broker.WithListener(l))...)
			if err != nil {
				b.Fatal(err)
			}
			if err := br.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			addr := l.Addr().String()

			sub := benchDial(b, addr, "sub")
			out, _ := (&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("fan/#")}}}).Append(nil, packets.V311)
			if _, err := sub.Write(out); err != nil {
				b.Fatal(err)
			}
			var received atomic.Int64
			r := packets.NewReader(sub, 0)
			if fh, _, err := r.Next(); err != nil || fh.Type != packets.SUBACK {
				b.Fatalf("SUBACK: %v %v", fh.Type, err)
			}
			_ = sub.SetReadDeadline(time.Time{})
			go func() {
				for {
					fh, _, err := r.Next()
					if err != nil {
						return
					}
					if fh.Type == packets.PUBLISH {
						received.Add(1)
					}
				}
			}()

			const pubs, batch, ahead = 10, 100, 10000
			var batchBuf []byte
			for range batch {
				batchBuf, _ = (&packets.Publish{Topic: []byte("fan/in"), Payload: make([]byte, 64)}).Append(batchBuf, packets.V311)
			}
			conns := make([]net.Conn, pubs)
			for i := range conns {
				conns[i] = benchDial(b, addr, "pub"+string(rune('a'+i)))
			}
			var sent atomic.Int64
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for _, c := range conns {
				wg.Go(func() {
					for {
						n := sent.Add(batch)
						if n > int64(b.N)+batch-1 {
							return
						}
						for n-received.Load() > ahead {
							time.Sleep(50 * time.Microsecond)
						}
						if _, err := c.Write(batchBuf); err != nil {
							return
						}
					}
				})
			}
			wg.Wait()
			want := (int64(b.N) + batch - 1) / batch * batch
			for received.Load() < want && time.Since(start) < time.Minute {
				time.Sleep(100 * time.Microsecond)
			}
			b.ReportMetric(float64(received.Load())/time.Since(start).Seconds(), "msg/s")
		})
	}
}

// benchDial connects a 3.1.1 client with a clean session.
func benchDial(b *testing.B, addr, id string) net.Conn {
	b.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = nc.Close() })
	out, _ := (&packets.Connect{Version: packets.V311, ClientID: []byte(id), CleanStart: true, KeepAlive: 60}).Append(nil, packets.V311)
	if _, err := nc.Write(out); err != nil {
		b.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(nc, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		b.Fatalf("CONNACK % x: %v", ack, err)
	}
	return nc
}
