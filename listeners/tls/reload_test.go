package tls_test

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/ternmq/broker/internal/testcerts"
	tlslistener "github.com/ternmq/broker/listeners/tls"
)

// TestReloadServesNewCertificateKeepsLiveConnections: after the files are
// replaced and Reload is called, a new handshake sees the new certificate
// while a connection made before keeps working; a Reload that fails leaves
// the last good certificate in service.
func TestReloadServesNewCertificateKeepsLiveConnections(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "tern-test")
	first := ca.Server(t)
	certFile, keyFile := first.WriteFiles(t, dir, "server")
	l, err := tlslistener.NewFromFiles("tls", "127.0.0.1:0", tlslistener.Files{Cert: certFile, Key: keyFile}, tlslistener.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	startBroker(t, l)
	addr := l.Addr().String()

	// serial dials a bare TLS connection and returns the server
	// certificate's serial number.
	serial := func() string {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	if got := serial(); got != first.Leaf.SerialNumber.String() {
		t.Fatalf("serving serial %s, want the first certificate's %s", got, first.Leaf.SerialNumber)
	}
	old, err := dialPaho5(t, addr, &tls.Config{RootCAs: ca.Pool()}, &paho.Connect{ClientID: "old"})
	if err != nil {
		t.Fatal(err)
	}

	second := ca.Server(t)
	second.WriteFiles(t, dir, "server")
	if got := serial(); got != first.Leaf.SerialNumber.String() {
		t.Fatalf("the new files were served before Reload")
	}
	if err := l.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	if got := serial(); got != second.Leaf.SerialNumber.String() {
		t.Fatalf("after Reload, serving serial %s, want the new certificate's %s", got, second.Leaf.SerialNumber)
	}

	// The connection made before the reload still works: it subscribes
	// and receives what a client of the new certificate publishes.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := old.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "after/reload", QoS: 1}}}); err != nil {
		t.Fatalf("the old connection broke on reload: %v", err)
	}
	fresh, err := dialPaho5(t, addr, &tls.Config{RootCAs: ca.Pool()}, &paho.Connect{ClientID: "new"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Publish(ctx, &paho.Publish{Topic: "after/reload", QoS: 1, Payload: []byte("hi")}); err != nil {
		t.Fatal(err)
	}
	old.waitFor(t, 1)

	// A broken file: Reload fails, the second certificate stays.
	if err := os.WriteFile(filepath.Join(dir, "server-key.pem"), []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.Reload(); err == nil {
		t.Error("Reload of a broken key file succeeded")
	}
	if got := serial(); got != second.Leaf.SerialNumber.String() {
		t.Errorf("after a failed Reload, serving serial %s, want the last good %s", got, second.Leaf.SerialNumber)
	}
}

// TestReloadClientCA: a new client CA file takes effect on Reload; clients
// of the old CA are refused from then on.
func TestReloadClientCA(t *testing.T) {
	dir := t.TempDir()
	ca1, ca2 := testcerts.NewCA(t, "ca-one"), testcerts.NewCA(t, "ca-two")
	certFile, keyFile := ca1.Server(t).WriteFiles(t, dir, "server")
	caFile := filepath.Join(dir, "clients.pem")
	if err := os.WriteFile(caFile, ca1.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := tlslistener.NewFromFiles("mtls", "127.0.0.1:0",
		tlslistener.Files{Cert: certFile, Key: keyFile, ClientCA: caFile, ClientAuth: tls.RequireAndVerifyClientCert},
		tlslistener.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	startBroker(t, l)
	dial := func(client *testcerts.Pair) error {
		send := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &client.TLS, nil }
		c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: ca1.Pool(), GetClientCertificate: send})
		if err != nil {
			return err
		}
		defer c.Close()
		// In TLS 1.3 the server's verdict on the client certificate
		// arrives after the client's handshake ends: read to see it.
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = c.Read(make([]byte, 1))
		var ne interface{ Timeout() bool }
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	}
	one, two := ca1.Client(t, "one"), ca2.Client(t, "two")
	if err := dial(one); err != nil {
		t.Fatalf("client of the configured CA refused: %v", err)
	}
	if err := dial(two); err == nil {
		t.Fatal("client of another CA accepted")
	}
	if err := os.WriteFile(caFile, ca2.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := l.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := dial(two); err != nil {
		t.Errorf("client of the new CA refused after Reload: %v", err)
	}
	if err := dial(one); err == nil {
		t.Error("client of the old CA still accepted after Reload")
	}
}

// TestReloadWithoutFiles: a listener built from a *tls.Config has nothing
// to re-read.
func TestReloadWithoutFiles(t *testing.T) {
	ca := testcerts.NewCA(t, "tern-test")
	l, err := tlslistener.New("tls", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLS}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Reload(); !errors.Is(err, tlslistener.ErrNotReloadable) {
		t.Errorf("Reload: %v, want ErrNotReloadable", err)
	}
}

// TestIdentityNeedsVerifiedClientCertificates: WithIdentity on a listener
// that does not verify client certificates is refused at construction,
// since it could only refuse every client.
func TestIdentityNeedsVerifiedClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "tern-test")
	server := ca.Server(t)
	cert, key := server.WriteFiles(t, dir, "server")
	id := tlslistener.WithIdentity(tlslistener.IdentityCN)
	if l, err := tlslistener.New("tls", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{server.TLS}}, id); err == nil {
		l.Close()
		t.Error("New accepted WithIdentity without client certificate verification")
	}
	if l, err := tlslistener.NewFromFiles("tls", "127.0.0.1:0", tlslistener.Files{Cert: cert, Key: key}, id); err == nil {
		l.Close()
		t.Error("NewFromFiles accepted WithIdentity without client certificate verification")
	}
}
