package tcp_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
)

// emfileListener fails its first n Accepts with EMFILE, as accept(2) does
// when the process is out of file descriptors.
type emfileListener struct {
	net.Listener
	n atomic.Int32
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.n.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestServeSurvivesEMFILE: a listener out of file descriptors backs off and
// retries instead of ending Serve; a paho.mqtt.golang client connects once
// the errors pass, and the errors are counted.
func TestServeSurvivesEMFILE(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	el := &emfileListener{Listener: raw}
	el.n.Store(4)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	l := tcp.Wrap("tcp", el, tcp.WithLogger(quiet))
	b, err := broker.New(broker.WithListener(l), broker.WithLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	c := mqtt.NewClient(mqtt.NewClientOptions().
		AddBroker("tcp://" + l.Addr().String()).
		SetClientID("emfile").
		SetProtocolVersion(4).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second))
	tok := c.Connect()
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("connect after EMFILE: %v", tok.Error())
	}
	c.Disconnect(100)
	if got := l.AcceptErrors(); got != 4 {
		t.Errorf("AcceptErrors() = %d, want 4", got)
	}
}

// TestCloseEndsServe: Serve returns nil once the listener is closed.
func TestCloseEndsServe(t *testing.T) {
	l, err := tcp.New("", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if l.Name() != "tcp" {
		t.Errorf("Name() = %q, want the default \"tcp\"", l.Name())
	}
	done := make(chan error, 1)
	go func() { done <- l.Serve(nil) }()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after Close: %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
}
