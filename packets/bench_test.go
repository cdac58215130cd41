package packets_test

import (
	"bytes"
	"testing"

	paho "github.com/eclipse/paho.golang/packets"
	"github.com/ternmq/broker/packets"
)

// benchPublish returns the PUBLISH used by the benchmarks: QoS 1, a
// three-level topic, and in v5 a message expiry and a user property.
func benchPublish(v packets.Version, size int) *packets.Publish {
	p := &packets.Publish{QoS: 1, PacketID: 42, Topic: []byte("sensors/room-12/temperature"), Payload: bytes.Repeat([]byte{'x'}, size)}
	if v == packets.V5 {
		p.Properties.Present.Add(packets.PropMessageExpiry)
		p.Properties.MessageExpiry = 3600
		p.Properties.User = []packets.UserProperty{{Key: []byte("trace"), Value: []byte("abc123")}}
	}
	return p
}

var benchCases = []struct {
	name string
	v    packets.Version
	size int
}{
	{"v3/64B", packets.V311, 64},
	{"v3/4KiB", packets.V311, 4096},
	{"v5/64B", packets.V5, 64},
	{"v5/4KiB", packets.V5, 4096},
}

func BenchmarkPublishDecode(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			raw, _ := benchPublish(c.v, c.size).Append(nil, c.v)
			fh, n, _ := packets.ReadFixedHeader(raw)
			body := raw[n:]
			var p packets.Publish
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Decode(fh.Flags, body, c.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPublishEncode(b *testing.B) {
	for _, c := range benchCases {
		b.Run(c.name, func(b *testing.B) {
			p := benchPublish(c.v, c.size)
			buf := make([]byte, 0, c.size+128)
			b.SetBytes(int64(c.size))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if buf, err = p.Append(buf[:0], c.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPublishEncodeHeader is the net.Buffers path: only the header is
// written, the payload is not copied.
func BenchmarkPublishEncodeHeader(b *testing.B) {
	p := benchPublish(packets.V5, 4096)
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = p.AppendHeader(buf[:0], packets.V5)
	}
}

func BenchmarkConnectDecode(b *testing.B) {
	c := &packets.Connect{Version: packets.V5, CleanStart: true, KeepAlive: 60, ClientID: []byte("client-0001"),
		WillFlag: true, WillQoS: 1, WillTopic: []byte("clients/client-0001/status"), WillPayload: []byte("offline"),
		UsernameFlag: true, Username: []byte("user"), PasswordFlag: true, Password: []byte("secret"),
		Properties: packets.Properties{Present: 1<<packets.PropSessionExpiry | 1<<packets.PropReceiveMaximum,
			SessionExpiry: 3600, ReceiveMaximum: 100}}
	raw, _ := c.Append(nil, packets.V5)
	fh, n, _ := packets.ReadFixedHeader(raw)
	var p packets.Connect
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Decode(fh.Flags, raw[n:], packets.V5); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSubscribeDecode(b *testing.B) {
	s := &packets.Subscribe{PacketID: 7, Properties: packets.Properties{SubscriptionIDs: []uint32{12}},
		Subscriptions: []packets.Subscription{{Filter: []byte("sensors/+/temperature"), QoS: 1},
			{Filter: []byte("alerts/#"), QoS: 2, NoLocal: true}, {Filter: []byte("$share/g/jobs"), QoS: 1}}}
	raw, _ := s.Append(nil, packets.V5)
	fh, n, _ := packets.ReadFixedHeader(raw)
	var p packets.Subscribe
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Decode(fh.Flags, raw[n:], packets.V5); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReaderNext cuts v5 PUBLISH packets (64 B payload) from a stream
// and decodes them.
func BenchmarkReaderNext(b *testing.B) {
	raw, _ := benchPublish(packets.V5, 64).Append(nil, packets.V5)
	r := packets.NewReader(&loopReader{chunk: bytes.Repeat(raw, 64)}, 0)
	var p packets.Publish
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		fh, body, err := r.Next()
		if err != nil {
			b.Fatal(err)
		}
		if err := p.Decode(fh.Flags, body, packets.V5); err != nil {
			b.Fatal(err)
		}
	}
}

// pahoPublish is benchPublish in paho.golang's representation.
func pahoPublish(size int) *paho.Publish {
	return &paho.Publish{QoS: 1, PacketID: 42, Topic: "sensors/room-12/temperature", Payload: bytes.Repeat([]byte{'x'}, size),
		Properties: &paho.Properties{MessageExpiry: ptr(uint32(3600)), User: []paho.User{{Key: "trace", Value: "abc123"}}}}
}

// BenchmarkPahoPublishDecode decodes the same v5 PUBLISH body with
// paho.golang, as its ReadPacket does after reading the fixed header.
func BenchmarkPahoPublishDecode(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(map[int]string{64: "v5/64B", 4096: "v5/4KiB"}[size], func(b *testing.B) {
			var buf bytes.Buffer
			_, _ = pahoPublish(size).WriteTo(&buf)
			raw := buf.Bytes()
			_, n, _ := packets.ReadFixedHeader(raw)
			body := raw[n:]
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				p := &paho.Publish{QoS: 1, Properties: &paho.Properties{}}
				if err := p.Unpack(bytes.NewBuffer(body)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPahoPublishEncode encodes the v5 PUBLISH with paho.golang into
// a reused buffer.
func BenchmarkPahoPublishEncode(b *testing.B) {
	for _, size := range []int{64, 4096} {
		b.Run(map[int]string{64: "v5/64B", 4096: "v5/4KiB"}[size], func(b *testing.B) {
			p := pahoPublish(size)
			var buf bytes.Buffer
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				if _, err := p.WriteTo(&buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestBenchPublishAgree: the paho benchmarks work on the same bytes as
// Tern's, so the comparison is like for like.
func TestBenchPublishAgree(t *testing.T) {
	for _, size := range []int{64, 4096} {
		tern, _ := benchPublish(packets.V5, size).Append(nil, packets.V5)
		var buf bytes.Buffer
		_, _ = pahoPublish(size).WriteTo(&buf)
		if !bytes.Equal(tern, buf.Bytes()) {
			t.Fatalf("%d B: Tern % x\npaho % x", size, tern[:40], buf.Bytes()[:40])
		}
	}
}
