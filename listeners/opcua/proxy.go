package opcua

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"
)

// The public endpoint is a TCP proxy in front of gopcua's server, which
// listens on a loopback port of its own. gopcua accepts connections one at
// a time and reads each one's Hello before accepting the next, without a
// deadline, and stops accepting for good when that read fails with a
// network error (a client that resets the connection): one idle or reset
// connection would stop the endpoint. The proxy reads the Hello with a
// deadline, refuses Reverse Hello (which would make gopcua dial an address
// the client names), and connects to gopcua only with a complete Hello,
// waiting for its Acknowledge before relaying the rest; the rest from the
// client goes through inspect (inspect.go), which keeps from gopcua's
// decoder the requests it would panic, allocate gigabytes or loop on.

// maxHello bounds an OPC UA Hello message: its header, five integers and
// an endpoint URL of at most 4096 bytes (Part 6, 7.1.2.3).
const maxHello = 8 + 20 + 4 + 4096

// proxy relays public connections to gopcua's loopback endpoint.
type proxy struct {
	ln       net.Listener
	log      *slog.Logger
	target   string
	deadline time.Duration

	mu     sync.Mutex // guards conns, closed
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// serve accepts until the listener is closed.
func (p *proxy) serve() {
	var delay time.Duration
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off and retry.
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			time.Sleep(delay)
			continue
		}
		delay = 0
		if !p.track(c) {
			_ = c.Close()
			return
		}
		p.wg.Go(func() {
			defer p.untrack(c)
			p.relay(c)
		})
	}
}

// track registers a connection so that close can end it.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	_ = c.Close()
}

// relay handles one client connection.
func (p *proxy) relay(c net.Conn) {
	_ = c.SetDeadline(time.Now().Add(p.deadline))
	hello, err := readMessage(c, "HEL")
	if err != nil {
		return
	}
	var d net.Dialer
	d.Timeout = p.deadline
	up, err := d.Dial("tcp", p.target)
	if err != nil {
		return
	}
	if !p.track(up) {
		_ = up.Close()
		return
	}
	defer p.untrack(up)
	_ = up.SetDeadline(time.Now().Add(p.deadline))
	if _, err := up.Write(hello); err != nil {
		return
	}
	// gopcua answers ACK (or ERR); wait for it, so that gopcua's accept
	// loop never sees this connection fail.
	ack, err := readMessage(up, "")
	if err != nil {
		return
	}
	if _, err := c.Write(ack); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	_ = up.SetDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(c, up)
		_ = c.Close()
	}()
	if err := inspect(c, up, limitsOf(ack)); errors.Is(err, errRefused) {
		p.log.Warn("opcua: connection closed", "remote", c.RemoteAddr().String(), "err", err)
	}
	_ = up.Close()
	_ = c.Close()
	<-done
}

// readMessage reads one OPC UA connection protocol message (an 8-byte
// header: type, chunk type, size) of at most maxHello bytes; want, when
// set, is the required type.
func readMessage(c net.Conn, want string) ([]byte, error) {
	hdr := make([]byte, 8)
	if _, err := io.ReadFull(c, hdr); err != nil {
		return nil, err
	}
	if want != "" && (string(hdr[:3]) != want || hdr[3] != 'F') {
		return nil, fmt.Errorf("opcua: expected %sF, got %q", want, hdr[:4])
	}
	size := binary.LittleEndian.Uint32(hdr[4:])
	if size < 8 || size > maxHello {
		return nil, fmt.Errorf("opcua: %q message of %d bytes", hdr[:4], size)
	}
	msg := make([]byte, size)
	copy(msg, hdr)
	if _, err := io.ReadFull(c, msg[8:]); err != nil {
		return nil, err
	}
	return msg, nil
}

// close stops accepting, ends every relayed connection and waits for the
// relays to return.
func (p *proxy) close() {
	p.mu.Lock()
	p.closed = true
	conns := make([]net.Conn, 0, len(p.conns))
	for c := range p.conns {
		conns = append(conns, c)
	}
	p.mu.Unlock()
	_ = p.ln.Close()
	for _, c := range conns {
		_ = c.Close()
	}
	p.wg.Wait()
}
