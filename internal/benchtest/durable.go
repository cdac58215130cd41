// Package benchtest holds whole-broker benchmark harnesses shared by the
// benchmarks of several packages (a storage backend measures the broker on
// itself).
package benchtest

import (
	"context"
	"fmt"
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
	"github.com/ternmq/broker/storage"
)

// DurableQoS1 measures QoS 1 throughput to a persistent subscriber on
// store: every delivery is stored before its publisher's PUBACK and removed
// after the subscriber's. 10 publishers pipeline 100 messages each over
// loopback TCP; one op is one message; reports msg/s.
func DurableQoS1(b *testing.B, store storage.Store) {
	l, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	br, err := broker.New(broker.WithListener(l), broker.WithStorage(store),
		broker.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		b.Fatal(err)
	}
	if err := br.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = br.Close() })
	DurableQoS1At(b, l.Addr().String())
}

// DurableQoS1At runs DurableQoS1's load against the MQTT 3.1.1 broker at
// addr, whichever it is (Mosquitto with persistence, for comparison).
func DurableQoS1At(b *testing.B, addr string) {
	sub := dial(b, addr, "durable", false)
	sub.send(b, &packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("d/#"), QoS: 1}}})
	sub.expect(b, packets.SUBACK)
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
	errs := make(chan error, pubs)
	for i := range pubs {
		wg.Go(func() {
			c := dial(b, addr, fmt.Sprint("p", i), true)
			payload := make([]byte, 64)
			var out []byte
			for n := 0; n < per; n += window {
				out = out[:0]
				k := min(window, per-n)
				for j := range k {
					out, _ = (&packets.Publish{QoS: 1, PacketID: uint16(j + 1), Topic: []byte("d/x"), Payload: payload}).Append(out, packets.V311)
				}
				if _, err := c.nc.Write(out); err != nil {
					errs <- err
					return
				}
				for range k {
					_ = c.nc.SetReadDeadline(time.Now().Add(30 * time.Second))
					if _, _, err := c.r.Next(); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	for got.Load() < int64(per*pubs) && time.Since(start) < 60*time.Second {
		time.Sleep(time.Millisecond)
	}
	if n := got.Load(); n < int64(per*pubs) {
		b.Fatalf("subscriber got %d of %d messages", n, per*pubs)
	}
	b.ReportMetric(float64(got.Load())/time.Since(start).Seconds(), "msg/s")
}

type client struct {
	nc net.Conn
	r  *packets.Reader
}

func dial(b *testing.B, addr, id string, clean bool) *client {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = nc.Close() })
	c := &client{nc: nc, r: packets.NewReader(nc, 0)}
	c.send(b, &packets.Connect{Version: packets.V311, ClientID: []byte(id), CleanStart: clean, KeepAlive: 60})
	c.expect(b, packets.CONNACK)
	return c
}

func (c *client) send(b *testing.B, p packets.Packet) {
	out, err := p.Append(nil, packets.V311)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := c.nc.Write(out); err != nil {
		b.Fatal(err)
	}
}

func (c *client) expect(b *testing.B, t packets.Type) {
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	fh, _, err := c.r.Next()
	if err != nil || fh.Type != t {
		b.Fatalf("got %v (%v), want %v", fh.Type, err, t)
	}
}
