package broker_test

import (
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ternmq/broker/packets"
)

// BenchmarkFanout publishes in-process to 1,000 and 9,000 subscribers
// connected over loopback TCP that read everything: one op is one message,
// encoded once and written to every socket. Reports deliveries/s. (9,000:
// both ends of each connection live in this process, and 20,000
// descriptors is the most this machine allows.)
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 9000} {
		for _, qos := range []byte{0, 1} {
			b.Run(fmt.Sprintf("%d/QoS%d", n, qos), func(b *testing.B) { fanout(b, n, qos) })
		}
	}
}

func fanout(b *testing.B, subscribers int, qos byte) {
	{
		{
			br, addr := startBroker(b)
			var received atomic.Int64
			for i := range subscribers {
				c := dialRaw(b, addr)
				c.connect(connectPacket(fmt.Sprintf("f%d", i), true), packets.Success)
				c.subscribe(1, "bench/fan", qos)
				go func(nc net.Conn, r *packets.Reader) {
					var ack []byte
					for {
						fh, body, err := r.Next()
						if err != nil {
							return
						}
						received.Add(1)
						if fh.Type == packets.PUBLISH && qos == 1 {
							var p packets.Publish
							_ = p.Decode(fh.Flags, body, packets.V311)
							ack, _ = (&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID}).Append(ack[:0], packets.V311)
							_, _ = nc.Write(ack)
						}
					}
				}(c.NC, c.R)
				_ = c.NC.SetReadDeadline(time.Time{})
			}
			payload := make([]byte, 64)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := br.Publish("bench/fan", payload, qos, false); err != nil {
					b.Fatal(err)
				}
				// Stay within the queue bound: at most 10,000 messages ahead.
				for int64(i-10000)*int64(subscribers) > received.Load() {
					time.Sleep(100 * time.Microsecond)
				}
			}
			want := int64(b.N) * int64(subscribers)
			for received.Load() < want && time.Since(start) < 60*time.Second {
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(received.Load())/time.Since(start).Seconds(), "deliveries/s")
			_ = io.EOF
		}
	}
}
