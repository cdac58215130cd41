package coap_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/message/pool"
	"github.com/plgd-dev/go-coap/v3/udp/coder"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/coap"
)

// datagram encodes a CoAP message built by setup.
func datagram(tb testing.TB, typ message.Type, code codes.Code, mid int32, token []byte, setup func(m *pool.Message)) []byte {
	tb.Helper()
	m := pool.NewMessage(context.Background())
	m.SetType(typ)
	m.SetCode(code)
	m.SetMessageID(mid)
	m.SetToken(token)
	if setup != nil {
		setup(m)
	}
	b, err := m.MarshalWithEncoder(coder.DefaultCoder)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// FuzzDatagram sends any datagram to a live CoAP listener (anyone who can
// reach its UDP port can), then a CoAP ping: the broker must not panic
// (go-coap's goroutines have no recover: a panic would end the process)
// and must still answer.
func FuzzDatagram(f *testing.F) {
	l, err := coap.New("coap", "127.0.0.1:0", coap.WithLogger(quiet))
	if err != nil {
		f.Fatal(err)
	}
	b, err := broker.New(broker.WithLogger(quiet), broker.WithListener(l))
	if err != nil {
		f.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = b.Close() })
	ua, _ := net.ResolveUDPAddr("udp", l.Addr().String())
	conn, err := net.DialUDP("udp", nil, ua)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { conn.Close() })

	f.Add(datagram(f, message.Confirmable, codes.POST, 1, []byte{1, 2, 3, 4}, func(m *pool.Message) {
		m.SetPath("/ps/a/b")
		m.SetBody(nil)
		m.SetContentFormat(message.TextPlain)
	}))
	f.Add(datagram(f, message.Confirmable, codes.GET, 2, []byte{1, 2, 3, 4}, func(m *pool.Message) {
		m.SetPath("/ps/a/+")
		m.SetObserve(0)
	}))
	f.Add(datagram(f, message.NonConfirmable, codes.PUT, 3, []byte{1, 2, 3, 4}, func(m *pool.Message) {
		m.SetPath("/ps/c")
		m.AddQuery("qos=1")
		m.AddQuery("retain=1")
		m.SetOptionUint32(message.Block1, 0x0e)
	}))
	f.Add(datagram(f, message.Confirmable, codes.GET, 4, []byte{1, 2, 3, 4}, func(m *pool.Message) { m.SetPath("/.well-known/core") }))
	f.Add([]byte{0x40, 0x01, 0x00, 0x05, 0xff})

	var mid uint16 = 0x7000
	buf := make([]byte, 2048)
	f.Fuzz(func(t *testing.T, d []byte) {
		if _, err := conn.Write(d); err != nil {
			t.Skip(err)
		}
		mid++
		ping := []byte{0x40, 0x00, byte(mid >> 8), byte(mid)} // CON, Empty: a ping, answered with RST
		if _, err := conn.Write(ping); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("no answer to a ping after %x: %v", d, err)
			}
			if n >= 4 && buf[0]>>4&3 == 3 && buf[2] == byte(mid>>8) && buf[3] == byte(mid) {
				return // the Reset
			}
		}
	})
}
