package broker_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
)

// emfileListener fails Accept with EMFILE while out is set, as a process
// out of file descriptors does.
type emfileListener struct {
	net.Listener
	out atomic.Bool
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.out.Load() {
		time.Sleep(time.Millisecond)
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: syscall.EMFILE}
	}
	return l.Listener.Accept()
}

// TestReadyReportsAcceptErrors (issue 11, finding 1): a listener that runs
// out of file descriptors keeps accepting once they are back, and Ready
// reports the errors meanwhile.
func TestReadyReportsAcceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fl := &emfileListener{Listener: ln}
	fl.out.Store(true)
	b, err := broker.New(broker.WithListener(tcp.Wrap("tcp", fl)), broker.WithLogger(quietLogger()), broker.WithSysInterval(-1))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "not started") {
		t.Fatalf("Ready before Start: %v", err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	checkFor(t, 5*time.Second, func() error {
		err := b.Ready(context.Background())
		if err == nil || !strings.Contains(err.Error(), "accept errors") {
			return errorf("Ready = %v, want accept errors", err)
		}
		return nil
	})
	fl.out.Store(false)
	checkFor(t, 5*time.Second, func() error { return b.Ready(context.Background()) })
	dialRaw(t, ln.Addr().String()).connect(connectPacket("after-emfile", true), 0)
	_ = b.Close()
	if err := b.Ready(context.Background()); err == nil || !strings.Contains(err.Error(), "shutting down") {
		t.Fatalf("Ready after Close: %v", err)
	}
}
