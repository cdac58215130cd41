//go:build unix

package httpbridge_test

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	httpbridge "github.com/ternmq/broker/listeners/http"
)

// TestSlowReaderIsClosedNotWaitedFor: a subscriber that stops reading is
// disconnected once its buffer is full, and counted; publishers and a
// reader that keeps up are not slowed meanwhile.
func TestSlowReaderIsClosedNotWaitedFor(t *testing.T) {
	e := newEnv(t, nil, httpbridge.WithLimits(httpbridge.Limits{StreamBufferBytes: 1 << 20, WriteTimeout: 500 * time.Millisecond}))
	addr := strings.TrimPrefix(e.base, "http://")

	// The slow reader: a raw connection with a small receive buffer that
	// reads nothing after its request.
	c, err := dialSmallWindow(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("GET /subscribe?filter=load/%23 HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	fast := openSSE(t, e.base+"/subscribe?filter=load/%23", nil)
	fast.opened(t)
	checkFor(t, 5*time.Second, func() error {
		if n := e.http.Stats().StreamsOpened; n != 2 {
			return fmt.Errorf("%d streams opened", n)
		}
		return nil
	})

	// 16 MB in rounds of 800 KB, each read by the fast reader before the
	// next: the slow reader's buffer (1 MB) and socket buffers fill up.
	payload := []byte(strings.Repeat("x", 8<<10))
	for round := range 20 {
		start := time.Now()
		for i := range 100 {
			if err := e.b.Publish("load/"+strconv.Itoa(i%4), payload, 0, false); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("round %d: 100 publishes took %v with a stuck reader", round, d)
		}
		for range 100 {
			fast.nextMessage(t)
		}
	}
	checkFor(t, 5*time.Second, func() error {
		if n := e.http.Stats().SlowClosed; n != 1 {
			return fmt.Errorf("Stats.SlowClosed = %d", n)
		}
		return nil
	})
	// The stuck connection is reset: the backlog in its socket buffers is
	// not trickled to it.
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 64<<10)
	total := 0
	t0 := time.Now()
	defer func() { t.Logf("read %d bytes in %v", total, time.Since(t0)) }()
	for {
		n, err := c.Read(buf)
		total += n
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("the slow reader's connection is still open")
			}
			break
		}
	}
}

// dialSmallWindow connects with a 4 KiB receive buffer set before the
// handshake, so the advertised window is small from the start (shrinking
// it afterwards makes the kernel drop segments and back off instead).
func dialSmallWindow(addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	return d.Dial("tcp", addr)
}
