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

// BenchmarkFanout1000 publishes in-process to 1,000 subscribers connected
// over loopback TCP that read everything: one op is one message, encoded
// once and written to 1,000 sockets. Reports deliveries/s.
func BenchmarkFanout1000(b *testing.B) {
	for _, qos := range []byte{0, 1} {
		b.Run(fmt.Sprintf("QoS%d", qos), func(b *testing.B) {
			br, addr := startBroker(b)
			var received atomic.Int64
			for i := range 1000 {
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
				for int64(i-10000)*1000 > received.Load() {
					time.Sleep(100 * time.Microsecond)
				}
			}
			want := int64(b.N) * 1000
			for received.Load() < want && time.Since(start) < 60*time.Second {
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(received.Load())/time.Since(start).Seconds(), "deliveries/s")
			_ = io.EOF
		})
	}
}
