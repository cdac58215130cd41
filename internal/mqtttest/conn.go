package mqtttest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/ternmq/broker/packets"
)

// Timeout bounds every read and write a Conn makes on the test's behalf.
const Timeout = 5 * time.Second

// Conn speaks MQTT byte by byte over a connection. Its methods fail the
// test on any error.
type Conn struct {
	// T is the test the Conn reports failures to.
	T testing.TB
	// NC is the connection to the broker.
	NC net.Conn
	// R reads whole packets from NC.
	R *packets.Reader
	// V is the protocol version packets are encoded and decoded with:
	// MQTT 3.1.1 until Connect sends another.
	V packets.Version
	// Wait bounds each read and write; zero means Timeout. Tests that
	// drive broker processes through restarts set it longer.
	Wait time.Duration
}

// wait is the bound of one read or write.
func (c *Conn) wait() time.Duration {
	if c.Wait > 0 {
		return c.Wait
	}
	return Timeout
}

// Dial connects to addr over TCP; the connection is closed when the test
// ends.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	return New(t, nc)
}

// New is a Conn on a connection the caller made (and closes).
func New(t testing.TB, nc net.Conn) *Conn {
	return &Conn{T: t, NC: nc, R: packets.NewReader(nc, 0), V: packets.V311}
}

// Pipe hands one end of a net.Pipe to serve (in its own goroutine) and
// returns a Conn on the other end, closed when the test ends.
func Pipe(t testing.TB, serve func(net.Conn)) *Conn {
	t.Helper()
	cli, srv := net.Pipe()
	go serve(srv)
	t.Cleanup(func() { _ = cli.Close() })
	return New(t, cli)
}

// Write writes b as it is.
func (c *Conn) Write(b []byte) {
	c.T.Helper()
	_ = c.NC.SetWriteDeadline(time.Now().Add(c.wait()))
	if _, err := c.NC.Write(b); err != nil {
		c.T.Fatalf("write: %v", err)
	}
}

// Send encodes p with the Conn's protocol version and writes it.
func (c *Conn) Send(p packets.Packet) {
	c.T.Helper()
	b, err := p.Append(nil, c.V)
	if err != nil {
		c.T.Fatalf("encode %v: %v", p.Type(), err)
	}
	c.Write(b)
}

// Expect reads exactly len(want) bytes and compares them.
func (c *Conn) Expect(want []byte) {
	c.T.Helper()
	got := make([]byte, len(want))
	_ = c.NC.SetReadDeadline(time.Now().Add(c.wait()))
	if _, err := io.ReadFull(c.NC, got); err != nil {
		c.T.Fatalf("reading % x: %v", want, err)
	}
	if !bytes.Equal(got, want) {
		c.T.Fatalf("got % x, want % x", got, want)
	}
}

// Next reads and decodes the next packet.
func (c *Conn) Next() packets.Packet {
	c.T.Helper()
	p, err := c.TryNext(c.wait())
	if err != nil {
		c.T.Fatalf("reading packet: %v", err)
	}
	return p
}

// TryNext reads and decodes the next packet, waiting at most d; it returns
// the error instead of failing the test.
func (c *Conn) TryNext(d time.Duration) (packets.Packet, error) {
	_ = c.NC.SetReadDeadline(time.Now().Add(d))
	fh, body, err := c.R.Next()
	if err != nil {
		return nil, err
	}
	return packets.Decode(fh, append([]byte(nil), body...), c.V)
}

// ExpectClosed waits for the broker to close the connection, discarding
// whatever it sends before.
func (c *Conn) ExpectClosed() {
	c.T.Helper()
	_ = c.NC.SetReadDeadline(time.Now().Add(c.wait()))
	buf := make([]byte, 256)
	for {
		_, err := c.NC.Read(buf)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			c.T.Fatal("connection still open")
		}
		return
	}
}

// Connect sends CONNECT and expects a CONNACK with code. A CONNECT without
// a version gets the Conn's; the Conn then speaks the CONNECT's version.
func (c *Conn) Connect(p *packets.Connect, code packets.ReasonCode) *packets.Connack {
	c.T.Helper()
	if p.Version == 0 {
		p.Version = c.V
	}
	c.V = p.Version
	c.Send(p)
	pk := c.Next()
	ack, ok := pk.(*packets.Connack)
	if !ok {
		c.T.Fatalf("got %T, want CONNACK", pk)
	}
	if ack.ReasonCode != code {
		c.T.Fatalf("CONNACK code %v (0x%02x), want %v", ack.ReasonCode, byte(ack.ReasonCode), code)
	}
	return ack
}

// Subscribe subscribes to one filter and expects the SUBACK of id.
func (c *Conn) Subscribe(id uint16, filter string, qos byte) {
	c.T.Helper()
	c.Send(&packets.Subscribe{PacketID: id, Subscriptions: []packets.Subscription{{Filter: []byte(filter), QoS: qos}}})
	pk := c.Next()
	sa, ok := pk.(*packets.Suback)
	if !ok || sa.PacketID != id {
		c.T.Fatalf("got %#v, want SUBACK %d", pk, id)
	}
}

// NextPublish reads the next packet and expects a PUBLISH.
func (c *Conn) NextPublish() *packets.Publish {
	c.T.Helper()
	pk := c.Next()
	p, ok := pk.(*packets.Publish)
	if !ok {
		c.T.Fatalf("got %T, want PUBLISH", pk)
	}
	return p
}

// ExpectPublish reads the next packet and expects a PUBLISH of payload on
// topic.
func (c *Conn) ExpectPublish(topic, payload string) *packets.Publish {
	c.T.Helper()
	pk := c.Next()
	p, ok := pk.(*packets.Publish)
	if !ok {
		c.T.Fatalf("got %T, want PUBLISH %s", pk, topic)
	}
	if string(p.Topic) != topic || string(p.Payload) != payload {
		c.T.Fatalf("got PUBLISH %s %q, want %s %q", p.Topic, p.Payload, topic, payload)
	}
	return p
}
