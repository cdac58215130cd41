package accept_test

import (
	"net"
	"syscall"
	"testing"

	"github.com/ternmq/broker/listeners/internal/accept"
)

// TestListenTCPSocketOptions: a connection accepted by ListenTCP has no
// TCP keep-alive probes (MQTT's Keep Alive does that job) and has
// TCP_NODELAY, which Go sets without being asked (the listeners used to
// set it again).
func TestListenTCPSocketOptions(t *testing.T) {
	ln, err := accept.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sc, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	for _, tc := range []struct {
		name       string
		level, opt int
		want       int
	}{
		{"SO_KEEPALIVE", syscall.SOL_SOCKET, syscall.SO_KEEPALIVE, 0},
		{"TCP_NODELAY", syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1},
	} {
		rc, err := sc.(*net.TCPConn).SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var got int
		var gerr error
		if err := rc.Control(func(fd uintptr) { got, gerr = syscall.GetsockoptInt(int(fd), tc.level, tc.opt) }); err != nil || gerr != nil {
			t.Fatal(err, gerr)
		}
		if (got != 0) != (tc.want != 0) {
			t.Errorf("%s = %d, want %d", tc.name, got, tc.want)
		}
	}
}
