package websocket_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/listeners/websocket"
)

// MQTT 3.1.1 packets written out, for conversations in odd framings.
var (
	connect   = []byte{0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'x'}
	connack   = []byte{0x20, 0x02, 0, 0}
	subscribe = []byte{0x82, 0x06, 0, 1, 0, 1, 't', 0} // packet 1, "t" at QoS 0
	suback    = []byte{0x90, 0x03, 0, 1, 0}
	publish   = []byte{0x30, 0x04, 0, 1, 't', 'a'} // "t", payload "a", QoS 0
	pingreq   = []byte{0xc0, 0}
	pingresp  = []byte{0xd0, 0}
)

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// wsListener starts a broker with a WebSocket listener made with opts.
func wsListener(t *testing.T, opts ...websocket.Option) *websocket.Listener {
	t.Helper()
	l, err := websocket.New("ws", "127.0.0.1:0", append([]websocket.Option{websocket.WithLogger(quiet())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	startBroker(t, []listeners.Listener{l})
	return l
}

// dialRaw opens a WebSocket with gorilla's client, offering protocols.
func dialRaw(t *testing.T, url string, header http.Header, protocols ...string) (*gws.Conn, *http.Response, error) {
	t.Helper()
	d := gws.Dialer{Subprotocols: protocols, HandshakeTimeout: 5 * time.Second}
	c, resp, err := d.Dial(url, header)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, resp, err
}

// readBytes reads messages until n bytes of MQTT have arrived.
func readBytes(t *testing.T, c *gws.Conn, n int) []byte {
	t.Helper()
	var got []byte
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(got) < n {
		typ, p, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("after %x: %v", got, err)
		}
		if typ != gws.BinaryMessage {
			t.Fatalf("the broker sent a message of type %d, want binary [MQTT-6.0.0-1]", typ)
		}
		got = append(got, p...)
	}
	return got
}

// TestFramesAreAStream: MQTT packets may be split across WebSocket frames
// and several may share one [MQTT-6.0.0-2]; the broker reads them as one
// stream.
func TestFramesAreAStream(t *testing.T) {
	l := wsListener(t)
	url := "ws://" + l.Addr().String() + "/mqtt"
	cases := []struct {
		name   string
		frames [][]byte
		want   []byte
	}{
		{"one packet per frame", [][]byte{connect, subscribe, publish}, cat(connack, suback, publish)},
		{"CONNECT split across three frames", [][]byte{connect[:1], connect[1:6], connect[6:], subscribe}, cat(connack, suback)},
		{"all packets in one frame", [][]byte{cat(connect, subscribe, publish)}, cat(connack, suback, publish)},
		{"packets straddling frames", [][]byte{cat(connect, subscribe[:3]), cat(subscribe[3:], publish[:2]), publish[2:]}, cat(connack, suback, publish)},
		{"an empty frame between packets", [][]byte{connect, {}, pingreq}, cat(connack, pingresp)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _, err := dialRaw(t, url, nil, "mqtt")
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range tc.frames {
				if err := c.WriteMessage(gws.BinaryMessage, f); err != nil {
					t.Fatal(err)
				}
			}
			if got := readBytes(t, c, len(tc.want)); !bytes.Equal(got, tc.want) {
				t.Errorf("got % x, want % x", got, tc.want)
			}
		})
	}
}

// TestTextFrameClosesConnection: a text frame is a protocol error; the
// broker closes the connection with close code 1003 [MQTT-6.0.0-1].
func TestTextFrameClosesConnection(t *testing.T) {
	l := wsListener(t)
	c, _, err := dialRaw(t, "ws://"+l.Addr().String()+"/mqtt", nil, "mqtt")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(gws.BinaryMessage, connect); err != nil {
		t.Fatal(err)
	}
	readBytes(t, c, len(connack))
	if err := c.WriteMessage(gws.TextMessage, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err = c.ReadMessage()
	if !gws.IsCloseError(err, gws.CloseUnsupportedData) {
		t.Errorf("after a text frame: %v, want close 1003", err)
	}
}

// TestSubprotocolNegotiation: the upgrade needs an MQTT subprotocol
// [MQTT-6.0.0-3]; "mqtt" is preferred [MQTT-6.0.0-4], "mqttv3.1" accepted.
func TestSubprotocolNegotiation(t *testing.T) {
	l := wsListener(t)
	url := "ws://" + l.Addr().String() + "/mqtt"
	cases := []struct {
		name    string
		offered []string
		want    string // "" : refused with 400
	}{
		{"mqtt", []string{"mqtt"}, "mqtt"},
		{"mqttv3.1", []string{"mqttv3.1"}, "mqttv3.1"},
		{"mqtt preferred", []string{"mqttv3.1", "mqtt"}, "mqtt"},
		{"mqtt among others", []string{"chat", "mqtt"}, "mqtt"},
		{"none offered", nil, ""},
		{"only others offered", []string{"chat", "wamp"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := dialRaw(t, url, nil, tc.offered...)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("upgrade offering %q succeeded (subprotocol %q)", tc.offered, c.Subprotocol())
				}
				if resp == nil || resp.StatusCode != http.StatusBadRequest {
					t.Fatalf("refusal: %v, want 400 Bad Request", err)
				}
				body, _ := io.ReadAll(resp.Body)
				if !strings.Contains(string(body), `"mqtt"`) {
					t.Errorf("refusal says %q, which does not name the subprotocol needed", body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Subprotocol() != tc.want {
				t.Errorf("subprotocol %q, want %q", c.Subprotocol(), tc.want)
			}
		})
	}
}

// TestPathAndOrigins: the upgrade answers at its path only, and from the
// allowed origins only (a client that sends no Origin is not a browser and
// is let in).
func TestPathAndOrigins(t *testing.T) {
	l := wsListener(t, websocket.WithPath("/ws/mqtt"), websocket.WithAllowedOrigins("https://app.example.com"))
	base := "ws://" + l.Addr().String()
	cases := []struct {
		name   string
		path   string
		origin string
		status int // 101: upgraded
	}{
		{"allowed origin", "/ws/mqtt", "https://app.example.com", http.StatusSwitchingProtocols},
		{"allowed origin in other case", "/ws/mqtt", "https://APP.example.com", http.StatusSwitchingProtocols},
		{"no origin", "/ws/mqtt", "", http.StatusSwitchingProtocols},
		{"other origin", "/ws/mqtt", "https://evil.example.com", http.StatusForbidden},
		{"default path not served", "/mqtt", "", http.StatusNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.origin != "" {
				h.Set("Origin", tc.origin)
			}
			_, resp, err := dialRaw(t, base+tc.path, h, "mqtt")
			if resp == nil {
				t.Fatalf("no HTTP response: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d (%v)", resp.StatusCode, tc.status, err)
			}
		})
	}
}

// TestReadLimit: a message larger than the read limit (the broker's
// maximum packet size) closes the connection with code 1009.
func TestReadLimit(t *testing.T) {
	l := wsListener(t, websocket.WithReadLimit(64))
	c, _, err := dialRaw(t, "ws://"+l.Addr().String()+"/mqtt", nil, "mqtt")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(gws.BinaryMessage, connect); err != nil {
		t.Fatal(err)
	}
	readBytes(t, c, len(connack))
	big := cat([]byte{0x30, 100, 0, 1, 't'}, make([]byte, 97))
	if err := c.WriteMessage(gws.BinaryMessage, big); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, _, err := c.ReadMessage(); !gws.IsCloseError(err, gws.CloseMessageTooBig) {
		t.Errorf("after a message over the limit: %v, want close 1009", err)
	}
}

// connCatcher is a listeners.Handler that hands the test its connections.
type connCatcher chan net.Conn

func (c connCatcher) ServeConn(_ string, nc net.Conn) { c <- nc }

// serveOne mounts Handler on an httptest server, dials it and returns
// both ends: the broker's net.Conn and the client's WebSocket.
func serveOne(t *testing.T) (net.Conn, *gws.Conn) {
	t.Helper()
	conns := make(connCatcher, 1)
	srv := httptest.NewServer(websocket.Handler(conns, websocket.WithLogger(quiet())))
	t.Cleanup(srv.Close)
	c, _, err := dialRaw(t, "ws"+strings.TrimPrefix(srv.URL, "http"), nil, "mqtt")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case nc := <-conns:
		t.Cleanup(func() { _ = nc.Close() })
		return nc, c
	case <-time.After(5 * time.Second):
		t.Fatal("no connection reached the handler")
	}
	return nil, nil
}

// TestConnDeadlines: the connection's deadlines behave as a net.Conn's: a
// deadline interrupts a Read already blocked, with a timeout error, and a
// Write to a peer that does not read fails once its deadline passes.
func TestConnDeadlines(t *testing.T) {
	nc, _ := serveOne(t)
	done := make(chan error, 1)
	go func() {
		_, err := nc.Read(make([]byte, 8))
		done <- err
	}()
	if err := nc.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("blocked Read: %v, want a timeout", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the read deadline did not interrupt a blocked Read")
	}

	// The client reads nothing: writes fill the socket buffers, then
	// block until the deadline.
	if err := nc.SetWriteDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		_, err = nc.Write(chunk)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("Write to a peer that does not read: %v, want a timeout", err)
	}
}

// TestConnReadsAcrossMessages: Read returns the payloads of consecutive
// binary messages as one stream, and a close frame from the peer reads as
// io.EOF.
func TestConnReadsAcrossMessages(t *testing.T) {
	nc, c := serveOne(t)
	for _, m := range []string{"ab", "", "cde"} {
		if err := c.WriteMessage(gws.BinaryMessage, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WriteMessage(gws.CloseMessage, gws.FormatCloseMessage(gws.CloseNormalClosure, "")); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(nc)
	if err != nil {
		t.Fatalf("ReadAll: %v (a close frame should read as io.EOF)", err)
	}
	if string(got) != "abcde" {
		t.Errorf("read %q, want \"abcde\"", got)
	}
	if fmt.Sprint(nc.RemoteAddr()) != fmt.Sprint(c.LocalAddr()) {
		t.Errorf("RemoteAddr %v, want the client's %v", nc.RemoteAddr(), c.LocalAddr())
	}
}

// TestPingAnsweredAfterWriteDeadlinePassed: a WebSocket ping is answered
// (RFC 6455 section 5.5.2) even when the write deadline the broker last
// set has passed, and the connection goes on working afterwards.
func TestPingAnsweredAfterWriteDeadlinePassed(t *testing.T) {
	nc, c := serveOne(t)
	if err := nc.SetWriteDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	pongs := make(chan string, 1)
	c.SetPongHandler(func(data string) error { pongs <- data; return nil })
	if err := c.WriteControl(gws.PingMessage, []byte("are you there"), time.Now().Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The server reads (and so answers pings) only while the broker reads.
	go func() { _, _ = nc.Read(make([]byte, 1)) }()
	got := make(chan []byte, 1)
	go func() {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, p, err := c.ReadMessage() // runs the pong handler on the way
		if err != nil {
			p = []byte(err.Error())
		}
		got <- p
	}()
	select {
	case data := <-pongs:
		if data != "are you there" {
			t.Errorf("pong %q, want the ping's data", data)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong")
	}
	if err := nc.SetWriteDeadline(time.Now().Add(5 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write([]byte("still here")); err != nil {
		t.Fatalf("write after the pong: %v", err)
	}
	if p := <-got; string(p) != "still here" {
		t.Errorf("client read %q, want \"still here\"", p)
	}
}
