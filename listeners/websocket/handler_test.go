package websocket_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/websocket"
)

// TestHandlerOnHostMux: a Go service mounts MQTT over WebSocket on its own
// ServeMux next to its HTTP API, on one port; a paho.golang client connects
// at /mqtt while /api keeps answering, and the connection is named as
// WithName says.
func TestHandlerOnHostMux(t *testing.T) {
	auth := &authRecorder{}
	b := startBroker(t, nil, broker.WithAuthenticator(auth))
	mux := http.NewServeMux()
	mux.Handle("/mqtt", websocket.Handler(b, websocket.WithName("api-ws"), websocket.WithLogger(quiet())))
	mux.HandleFunc("/api/health", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	cm, in := dialAutopaho(t, "ws"+srv.URL[len("http"):]+"/mqtt", "host-mux", autopaho.ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := cm.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "mux/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.Publish("mux/hello", []byte("from the host"), 1, false); err != nil {
		t.Fatal(err)
	}
	if got := in.waitFor(t, 1); got[0] != "mux/hello from the host 1" {
		t.Errorf("received %q", got[0])
	}
	resp, err := http.Get(srv.URL + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Errorf("the host's own route answered %q", body)
	}
	if c, _ := auth.get("host-mux"); c.Listener != "api-ws" {
		t.Errorf("ClientInfo.Listener = %q, want \"api-ws\"", c.Listener)
	}
}

// TestCloseWithPendingUpgrade: closing the listener ends connections that
// have not finished their upgrade (here: one that never sends a request),
// and Serve returns.
func TestCloseWithPendingUpgrade(t *testing.T) {
	l, err := websocket.New("ws", "127.0.0.1:0", websocket.WithLogger(quiet()), websocket.WithHandshakeTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- l.Serve(connCatcher(make(chan net.Conn))) }()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := nc.Write([]byte("GET /mqtt HTTP/1.1\r\n")); err != nil { // and no more
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve: %v, want nil after Close", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Close")
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(nc); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Error("the pending connection was not closed")
		}
	}
}
