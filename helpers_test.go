package broker_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/packets"
)

// quietLogger discards the broker's logs.
func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startBroker runs a broker on a random loopback port and closes it when the test ends.
func startBroker(t testing.TB, opts ...broker.Option) (*broker.Broker, string) {
	t.Helper()
	l, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(append([]broker.Option{broker.WithListener(l), broker.WithLogger(quietLogger())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b, l.Addr().String()
}

// checkFor polls fn until it returns nil or the timeout passes.
func checkFor(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := fn()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// rawClient speaks MQTT byte by byte over a connection, for conversations a
// polite client library never has.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	r  *packets.Reader
	v  packets.Version
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return dialRawConn(t, nc)
}

// dialRawConn is a raw client on a connection the caller made.
func dialRawConn(t testing.TB, nc net.Conn) *rawClient {
	return &rawClient{t: t, nc: nc, r: packets.NewReader(nc, 0), v: packets.V311}
}

// pipeClient serves one end of a net.Pipe with the broker.
func pipeClient(t testing.TB, b *broker.Broker) *rawClient {
	t.Helper()
	cli, srv := net.Pipe()
	go b.ServeConn("pipe", srv)
	t.Cleanup(func() { _ = cli.Close() })
	return &rawClient{t: t, nc: cli, r: packets.NewReader(cli, 0), v: packets.V311}
}

func (c *rawClient) write(b []byte) {
	c.t.Helper()
	_ = c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *rawClient) send(p packets.Packet) {
	c.t.Helper()
	b, err := p.Append(nil, c.v)
	if err != nil {
		c.t.Fatalf("encode %v: %v", p.Type(), err)
	}
	c.write(b)
}

// expect reads exactly len(want) bytes and compares them.
func (c *rawClient) expect(want []byte) {
	c.t.Helper()
	got := make([]byte, len(want))
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c.nc, got); err != nil {
		c.t.Fatalf("reading % x: %v", want, err)
	}
	if !bytes.Equal(got, want) {
		c.t.Fatalf("got % x, want % x", got, want)
	}
}

// next reads and decodes the next packet.
func (c *rawClient) next() packets.Packet {
	c.t.Helper()
	p, err := c.tryNext(5 * time.Second)
	if err != nil {
		c.t.Fatalf("reading packet: %v", err)
	}
	return p
}

func (c *rawClient) tryNext(d time.Duration) (packets.Packet, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(d))
	fh, body, err := c.r.Next()
	if err != nil {
		return nil, err
	}
	return packets.Decode(fh, append([]byte(nil), body...), c.v)
}

// expectClosed waits for the broker to close the connection.
func (c *rawClient) expectClosed() {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 256)
	for {
		_, err := c.nc.Read(buf)
		if err == nil {
			continue
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			c.t.Fatal("connection still open")
		}
		return
	}
}

// connect sends CONNECT and expects CONNACK with code.
func (c *rawClient) connect(p *packets.Connect, code packets.ReasonCode) *packets.Connack {
	c.t.Helper()
	if p.Version == 0 {
		p.Version = c.v
	}
	c.v = p.Version
	c.send(p)
	pk := c.next()
	ack, ok := pk.(*packets.Connack)
	if !ok {
		c.t.Fatalf("got %T, want CONNACK", pk)
	}
	if ack.ReasonCode != code {
		c.t.Fatalf("CONNACK code %v (0x%02x), want %v", ack.ReasonCode, byte(ack.ReasonCode), code)
	}
	return ack
}

func connectPacket(id string, clean bool) *packets.Connect {
	return &packets.Connect{ClientID: []byte(id), CleanStart: clean, KeepAlive: 60}
}

func (c *rawClient) subscribe(id uint16, filter string, qos byte) {
	c.t.Helper()
	c.send(&packets.Subscribe{PacketID: id, Subscriptions: []packets.Subscription{{Filter: []byte(filter), QoS: qos}}})
	pk := c.next()
	sa, ok := pk.(*packets.Suback)
	if !ok || sa.PacketID != id {
		c.t.Fatalf("got %#v, want SUBACK %d", pk, id)
	}
}

func (c *rawClient) expectPublish(topic, payload string) *packets.Publish {
	c.t.Helper()
	pk := c.next()
	p, ok := pk.(*packets.Publish)
	if !ok {
		c.t.Fatalf("got %T, want PUBLISH %s", pk, topic)
	}
	if string(p.Topic) != topic || string(p.Payload) != payload {
		c.t.Fatalf("got PUBLISH %s %q, want %s %q", p.Topic, p.Payload, topic, payload)
	}
	return p
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
