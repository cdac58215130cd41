package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"

	"github.com/ternmq/broker/cmd/mqttd/internal/config"
	"github.com/ternmq/broker/internal/testcerts"
)

// connectAs is connect311 with the client identifier id (two letters).
func connectAs(id string) []byte {
	p := bytes.Clone(connect311)
	copy(p[len(p)-2:], id)
	return p
}

// mqttHandshake sends connect311 on c and checks the CONNACK.
func mqttHandshake(t *testing.T, c net.Conn) { mqttHandshakeAs(t, c, "t1") }

// mqttHandshakeAs sends CONNECT as client id (two letters) and checks the
// CONNACK.
func mqttHandshakeAs(t *testing.T, c net.Conn, id string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(connectAs(id)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(connackAccepted))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("reading CONNACK: %v", err)
	}
	if !bytes.Equal(got, connackAccepted) {
		t.Fatalf("CONNACK = % x, want % x", got, connackAccepted)
	}
}

// wsHandshake upgrades to MQTT over WebSocket at url and exchanges
// CONNECT and CONNACK; it returns the server certificate's serial for wss.
func wsHandshake(t *testing.T, url string, cfg *tls.Config) string {
	t.Helper()
	d := gws.Dialer{Subprotocols: []string{"mqtt"}, TLSClientConfig: cfg, HandshakeTimeout: 5 * time.Second}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	defer c.Close()
	if err := c.WriteMessage(gws.BinaryMessage, connect311); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, p, err := c.ReadMessage()
	if err != nil || !bytes.Equal(p, connackAccepted) {
		t.Fatalf("CONNACK over %s: % x, %v", url, p, err)
	}
	if tc, ok := c.NetConn().(*tls.Conn); ok {
		return tc.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	return ""
}

// TestRunTLSWebSocketUnix runs mqttd with a tls, a wss, a ws and a unix
// listener: each serves MQTT; after the certificate files are replaced, a
// SIGHUP makes new handshakes of tls and wss use the new certificate while
// a connection made before keeps working; on shutdown the socket file is
// removed.
func TestRunTLSWebSocketUnix(t *testing.T) {
	dir, err := os.MkdirTemp("", "mqttd") // short: a socket path must fit in 108 bytes
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ca := testcerts.NewCA(t, "mqttd-test")
	first := ca.Server(t)
	cert, key := first.WriteFiles(t, dir, "server")
	sock := filepath.Join(dir, "mqtt.sock")
	yaml := fmt.Sprintf(`
listeners:
  - {type: tls, address: "127.0.0.1:0", tls: {cert: %[1]s, key: %[2]s}}
  - {type: websocket, name: wss, address: "127.0.0.1:0", path: /mqtt, tls: {cert: %[1]s, key: %[2]s}}
  - {type: websocket, name: ws, address: "127.0.0.1:0"}
  - {type: unix, path: %[3]s, mode: "0600"}
`, cert, key, sock)
	cfg, err := config.Parse("tern.yaml", []byte(yaml), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, cfg.Log.Logger(&logs)) }()
	var m []string
	waitFor(t, 10*time.Second, func() error {
		if m = listeningLine.FindStringSubmatch(logs.String()); m == nil {
			return fmt.Errorf("no listening line in the log:\n%s", logs.String())
		}
		return nil
	})
	addrs := strings.Split(m[1], ",")
	if len(addrs) != 4 || addrs[3] != sock {
		t.Fatalf("listening on %q, want four addresses ending with the socket", addrs)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket file: %v, %v; want mode 0600", fi.Mode(), err)
	}
	clientCfg := &tls.Config{RootCAs: ca.Pool()}
	tlsSerial := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", addrs[0], clientCfg)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		mqttHandshake(t, c)
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}

	old, err := tls.Dial("tcp", addrs[0], clientCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	mqttHandshakeAs(t, old, "o1") // another client id: the checks below take "t1" over
	if got := tlsSerial(); got != first.Leaf.SerialNumber.String() {
		t.Errorf("tls serves serial %s, want %s", got, first.Leaf.SerialNumber)
	}
	if got := wsHandshake(t, "wss://"+addrs[1]+"/mqtt", clientCfg); got != first.Leaf.SerialNumber.String() {
		t.Errorf("wss serves serial %s, want %s", got, first.Leaf.SerialNumber)
	}
	wsHandshake(t, "ws://"+addrs[2]+"/mqtt", nil)
	uc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	mqttHandshake(t, uc)
	uc.Close()

	second := ca.Server(t)
	second.WriteFiles(t, dir, "server")
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() error {
		if n := strings.Count(logs.String(), `msg=reloaded part="tls certificates of`); n < 2 {
			return fmt.Errorf("%d reload lines, want 2 (tls, wss):\n%s", n, logs.String())
		}
		return nil
	})
	if got := tlsSerial(); got != second.Leaf.SerialNumber.String() {
		t.Errorf("after SIGHUP, tls serves serial %s, want the new %s", got, second.Leaf.SerialNumber)
	}
	if got := wsHandshake(t, "wss://"+addrs[1]+"/mqtt", clientCfg); got != second.Leaf.SerialNumber.String() {
		t.Errorf("after SIGHUP, wss serves serial %s, want the new %s", got, second.Leaf.SerialNumber)
	}
	// The connection from before the reload still works: PINGREQ, PINGRESP.
	_ = old.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := old.Write([]byte{0xc0, 0}); err != nil {
		t.Fatalf("old connection after reload: %v", err)
	}
	resp := make([]byte, 2)
	if _, err := io.ReadFull(old, resp); err != nil || !bytes.Equal(resp, []byte{0xd0, 0}) {
		t.Fatalf("old connection after reload: % x, %v", resp, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(15 * time.Second): // the default shutdown_timeout (10 s), and some
		t.Fatal("run did not return after cancel")
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Errorf("the socket file is still there after shutdown: %v", err)
	}
}

// TestReloadFailureKeepsCertificate: a SIGHUP while the files are broken
// logs an error naming the listener and keeps serving the last good
// certificate.
func TestReloadFailureKeepsCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "mqttd-test")
	first := ca.Server(t)
	cert, key := first.WriteFiles(t, dir, "server")
	cfg, err := config.Parse("tern.yaml", []byte(fmt.Sprintf(
		"listeners:\n  - {type: tls, name: secure, address: \"127.0.0.1:0\", tls: {cert: %s, key: %s}}\n", cert, key)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, cfg.Log.Logger(&logs)) }()
	defer func() { cancel(); <-done }()
	var m []string
	waitFor(t, 10*time.Second, func() error {
		if m = listeningLine.FindStringSubmatch(logs.String()); m == nil {
			return fmt.Errorf("no listening line in the log:\n%s", logs.String())
		}
		return nil
	})
	if err := os.WriteFile(key, []byte("broken"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() error {
		if s := logs.String(); !strings.Contains(s, `level=ERROR msg="reload failed, keeping the previous state" part="tls certificates of secure"`) {
			return fmt.Errorf("no reload error in the log:\n%s", s)
		}
		return nil
	})
	c, err := tls.Dial("tcp", m[1], &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.ConnectionState().PeerCertificates[0].SerialNumber; got.Cmp(first.Leaf.SerialNumber) != 0 {
		t.Errorf("after a failed reload, serving serial %s, want the first %s", got, first.Leaf.SerialNumber)
	}
}
