package accept_test

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ternmq/broker/listeners/internal/accept"
)

// failing fails its first n Accepts with err, then accepts normally.
type failing struct {
	net.Listener
	n   atomic.Int32
	err error
}

func (f *failing) Accept() (net.Conn, error) {
	if f.n.Add(-1) >= 0 {
		return nil, f.err
	}
	return f.Listener.Accept()
}

func emfile() error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestAcceptRetriesTransientErrors: errors such as EMFILE, ECONNABORTED or
// a plain non-net error are counted and retried; the listener goes on
// accepting afterwards.
func TestAcceptRetriesTransientErrors(t *testing.T) {
	cases := []struct {
		name string
		err  error
	}{
		{"EMFILE", emfile()},
		{"ECONNABORTED", &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.ECONNABORTED)}},
		{"not a net.Error", errors.New("something odd")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			f := &failing{Listener: ln, err: tc.err}
			f.n.Store(3)
			l := accept.New(f, "test", quiet())
			defer l.Close()
			go func() {
				if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
					defer c.Close()
					_, _ = io.Copy(io.Discard, c)
				}
			}()
			c, err := l.Accept()
			if err != nil {
				t.Fatalf("Accept: %v, want a connection after the errors pass", err)
			}
			c.Close()
			if got := l.Errors(); got != 3 {
				t.Errorf("Errors() = %d, want 3", got)
			}
		})
	}
}

// TestCloseEndsBackoff: Close during a retry's backoff returns at once with
// net.ErrClosed.
func TestCloseEndsBackoff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &failing{Listener: ln, err: emfile()}
	f.n.Store(1 << 30)
	l := accept.New(f, "test", quiet())
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for l.Errors() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("Accept did not retry")
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("Accept returned %v after Close", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Accept still retrying after Close")
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
