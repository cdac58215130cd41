package websocket

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/ternmq/broker/listeners"
)

// ErrTextFrame is the read error of a connection whose peer sent a text
// frame: MQTT travels in binary frames only, and anything else closes the
// connection [MQTT-6.0.0-1].
var ErrTextFrame = errors.New("websocket: text frame received; MQTT needs binary frames [MQTT-6.0.0-1]")

// closeWait bounds the close frame sent by Close.
const closeWait = time.Second

// Conn is an MQTT connection over WebSocket as a net.Conn: Read returns the
// payload of binary messages as one stream, Write sends each call as one
// binary message. Like any net.Conn it may be used from several
// goroutines; deadlines apply to a call already blocked.
type Conn struct {
	ws  *websocket.Conn
	raw *rawConn

	rmu  sync.Mutex
	r    io.Reader // the current message; nil between messages
	rerr error     // sticky: gorilla panics on reads after a failure

	wmu       sync.Mutex
	wdl       atomic.Pointer[time.Time] // the write deadline set by the user of the Conn
	closeOnce sync.Once
	closeErr  error
}

func newConn(ws *websocket.Conn, raw *rawConn) *Conn {
	c := &Conn{ws: ws, raw: raw}
	ws.SetPingHandler(c.pong)
	return c
}

// pong answers a ping (RFC 6455 section 5.5.2) from the reading goroutine.
// gorilla's own handler would write under the socket's current write
// deadline, which the broker may have let expire between its writes; a
// failed write would then break the connection for good. This one writes
// between the broker's writes, under a deadline of its own, and puts the
// broker's deadline back.
func (c *Conn) pong(data string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	deadline := time.Now().Add(closeWait)
	_ = c.raw.Conn.SetWriteDeadline(deadline)
	err := c.ws.WriteControl(websocket.PongMessage, []byte(data), deadline)
	var restore time.Time
	if t := c.wdl.Load(); t != nil {
		restore = *t
	}
	_ = c.raw.Conn.SetWriteDeadline(restore)
	if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
		return err
	}
	return nil
}

// Read reads the payload of binary messages, across message boundaries.
// A close frame from the peer, or the connection ending, reads as io.EOF;
// a text frame closes the connection (code 1003) and returns ErrTextFrame.
func (c *Conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for {
		if c.rerr != nil {
			return 0, c.rerr
		}
		if c.r == nil {
			typ, r, err := c.ws.NextReader()
			if err != nil {
				return 0, c.fail(err)
			}
			if typ != websocket.BinaryMessage {
				msg := websocket.FormatCloseMessage(websocket.CloseUnsupportedData, "MQTT needs binary frames")
				_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(closeWait))
				_ = c.raw.Conn.Close()
				c.rerr = ErrTextFrame
				return 0, c.rerr
			}
			c.r = r
		}
		n, err := c.r.Read(p)
		if err == io.EOF {
			c.r = nil // the message ended; the stream goes on with the next
			err = nil
		}
		if err != nil {
			return n, c.fail(err)
		}
		if n > 0 || len(p) == 0 {
			return n, nil
		}
	}
}

// fail records a read error. Timeouts stay timeouts (net.Error); every
// kind of close, clean or not, is io.EOF to the reader, as a TCP close is.
func (c *Conn) fail(err error) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		err = io.EOF
	}
	c.rerr = err
	return err
}

// Write sends p as one binary message.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.WriteMessage(websocket.BinaryMessage, p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Close sends a close frame (1000, best effort, within a second) and closes
// the connection.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		deadline := time.Now().Add(closeWait)
		_ = c.raw.Conn.SetWriteDeadline(deadline)
		_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
		c.closeErr = c.ws.Close()
	})
	return c.closeErr
}

// LocalAddr returns the local network address.
func (c *Conn) LocalAddr() net.Addr { return c.raw.Conn.LocalAddr() }

// RemoteAddr returns the peer's network address (a proxy's, behind one).
func (c *Conn) RemoteAddr() net.Addr { return c.raw.Conn.RemoteAddr() }

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	return errors.Join(c.SetReadDeadline(t), c.SetWriteDeadline(t))
}

// SetReadDeadline sets the deadline of reads, including one in progress.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.raw.Conn.SetReadDeadline(t) }

// SetWriteDeadline sets the deadline of writes, including one in progress.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.wdl.Store(&t)
	return c.raw.Conn.SetWriteDeadline(t)
}

// rawConn is the hijacked connection under gorilla. Once owned by a Conn,
// it ignores gorilla's write deadlines: gorilla applies the deadline it
// stores before every frame, and storing one is not safe while another
// goroutine writes; Conn sets the socket's deadline itself instead.
type rawConn struct {
	net.Conn
	owned bool // set once, before the Conn is shared
}

func (r *rawConn) SetWriteDeadline(t time.Time) error {
	if r.owned {
		return nil
	}
	return r.Conn.SetWriteDeadline(t)
}

func (r *rawConn) SetDeadline(t time.Time) error {
	if r.owned {
		return r.Conn.SetReadDeadline(t)
	}
	return r.Conn.SetDeadline(t)
}

// tlsConn is a Conn over TLS (wss): it carries the handshake's state
// (listeners.TLSConn).
type tlsConn struct {
	*Conn
	state tls.ConnectionState
}

// ConnectionState returns the TLS handshake's state.
func (c *tlsConn) ConnectionState() tls.ConnectionState { return c.state }

// identityConn is a wss Conn whose verified client certificate names the
// user (listeners.IdentityConn).
type identityConn struct {
	tlsConn
	id string
}

// Identity returns the client certificate's Subject CN or first SAN.
func (c *identityConn) Identity() string { return c.id }

var (
	_ net.Conn               = (*Conn)(nil)
	_ listeners.TLSConn      = (*tlsConn)(nil)
	_ listeners.IdentityConn = (*identityConn)(nil)
)
