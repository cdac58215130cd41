package broker_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/internal/mqtttest"
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

// rawClient is mqtttest's raw client under the names the tests of this
// package call.
type rawClient struct{ *mqtttest.Conn }

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	return &rawClient{mqtttest.Dial(t, addr)}
}

// dialRawConn is a raw client on a connection the caller made.
func dialRawConn(t testing.TB, nc net.Conn) *rawClient { return &rawClient{mqtttest.New(t, nc)} }

// pipeClient serves one end of a net.Pipe with the broker.
func pipeClient(t testing.TB, b *broker.Broker) *rawClient {
	t.Helper()
	return &rawClient{mqtttest.Pipe(t, func(srv net.Conn) { b.ServeConn("pipe", srv) })}
}

func (c *rawClient) write(b []byte)        { c.T.Helper(); c.Write(b) }
func (c *rawClient) send(p packets.Packet) { c.T.Helper(); c.Send(p) }
func (c *rawClient) expect(want []byte)    { c.T.Helper(); c.Expect(want) }
func (c *rawClient) next() packets.Packet  { c.T.Helper(); return c.Next() }
func (c *rawClient) expectClosed()         { c.T.Helper(); c.ExpectClosed() }

func (c *rawClient) tryNext(d time.Duration) (packets.Packet, error) { return c.TryNext(d) }

func (c *rawClient) connect(p *packets.Connect, code packets.ReasonCode) *packets.Connack {
	c.T.Helper()
	return c.Connect(p, code)
}

func (c *rawClient) subscribe(id uint16, filter string, qos byte) {
	c.T.Helper()
	c.Subscribe(id, filter, qos)
}

func (c *rawClient) expectPublish(topic, payload string) *packets.Publish {
	c.T.Helper()
	return c.ExpectPublish(topic, payload)
}

func connectPacket(id string, clean bool) *packets.Connect {
	return &packets.Connect{ClientID: []byte(id), CleanStart: clean, KeepAlive: 60}
}

func errorf(format string, a ...any) error { return fmt.Errorf(format, a...) }
