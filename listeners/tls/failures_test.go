package tls_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/ternmq/broker/internal/testcerts"
	tlslistener "github.com/ternmq/broker/listeners/tls"
)

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestHandshakeFailuresAreLogged: each way a TLS handshake fails ends the
// connection with one clear log line naming the listener, the peer and the
// reason, and leaves no goroutine behind.
func TestHandshakeFailuresAreLogged(t *testing.T) {
	ca := testcerts.NewCA(t, "tern-test")
	other := testcerts.NewCA(t, "someone-else")
	server := ca.Server(t)
	expired := ca.Issue(t, testcerts.Spec{CN: "old", Client: true, NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	stranger := other.Client(t, "stranger")

	cases := []struct {
		name    string
		dial    func(t *testing.T, addr string) error // the client's side; must fail
		wantLog string
	}{
		{
			name: "client certificate from an unknown CA",
			dial: func(t *testing.T, addr string) error {
				// Go's client would not send a certificate the server's CA
				// list does not name; OpenSSL's (Mosquitto's) would.
				send := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &stranger.TLS, nil }
				_, err := dialPaho5(t, addr, &tls.Config{RootCAs: ca.Pool(), GetClientCertificate: send}, &paho.Connect{ClientID: "x"})
				return err
			},
			wantLog: "certificate signed by unknown authority",
		},
		{
			name: "expired client certificate",
			dial: func(t *testing.T, addr string) error {
				_, err := dialPaho5(t, addr, &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{expired.TLS}}, &paho.Connect{ClientID: "x"})
				return err
			},
			wantLog: "certificate has expired",
		},
		{
			name: "no client certificate",
			dial: func(t *testing.T, addr string) error {
				_, err := dialPaho5(t, addr, &tls.Config{RootCAs: ca.Pool()}, &paho.Connect{ClientID: "x"})
				return err
			},
			wantLog: "didn't provide a certificate",
		},
		{
			name: "client does not trust the server's CA",
			dial: func(t *testing.T, addr string) error {
				_, err := dialPaho5(t, addr, &tls.Config{RootCAs: other.Pool(), Certificates: []tls.Certificate{ca.Client(t, "c").TLS}}, &paho.Connect{ClientID: "x"})
				return err
			},
			wantLog: "remote error: tls: bad certificate",
		},
		{
			name: "plaintext MQTT client",
			dial: func(t *testing.T, addr string) error {
				nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					return err
				}
				defer nc.Close()
				// CONNECT, MQTT 3.1.1, client "x".
				if _, err := nc.Write([]byte{0x10, 0x0d, 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, 1, 'x'}); err != nil {
					return err
				}
				_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 64)
				for {
					if _, err := nc.Read(buf); err != nil {
						if ne, ok := err.(net.Error); ok && ne.Timeout() {
							return nil // still open: the test fails below
						}
						return err
					}
				}
			},
			wantLog: "first record does not look like a TLS handshake",
		},
		{
			name: "client that never sends a ClientHello",
			dial: func(t *testing.T, addr string) error {
				nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					return err
				}
				defer nc.Close()
				_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				_, err = nc.Read(make([]byte, 1)) // the server gives up after its timeout
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					return nil
				}
				return err
			},
			wantLog: "no handshake within 300ms",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{
				Certificates: []tls.Certificate{server.TLS},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    ca.Pool(),
			}
			logs := &logBuffer{}
			l, err := tlslistener.New("secure", "127.0.0.1:0", cfg,
				tlslistener.WithLogger(logs.logger()), tlslistener.WithHandshakeTimeout(300*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			startBroker(t, l)
			if err := tc.dial(t, l.Addr().String()); err == nil {
				t.Fatal("the client's connection was not refused")
			}
			checkFor(t, 5*time.Second, func() error {
				s := logs.String()
				if !containsAll(s, "tls handshake failed", "listener=secure", "remote=127.0.0.1:", tc.wantLog) {
					return fmt.Errorf("log %q lacks the reason %q", s, tc.wantLog)
				}
				return nil
			})
			noHandshakeLeft(t)
		})
	}
}

// TestSilentClientDelaysNoOne: a client that opens TCP connections and
// never sends a ClientHello does not hold up anyone else's handshake: they
// run off the accept loop, each under its own timeout.
func TestSilentClientDelaysNoOne(t *testing.T) {
	ca := testcerts.NewCA(t, "tern-test")
	l, err := tlslistener.New("tls", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLS}},
		tlslistener.WithLogger(quiet()), tlslistener.WithHandshakeTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	startBroker(t, l)
	addr := l.Addr().String()
	for range 3 {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
	}
	checkFor(t, 5*time.Second, func() error {
		if n := handshakesRunning(); n < 3 {
			return fmt.Errorf("%d handshakes waiting, want the 3 silent clients'", n)
		}
		return nil
	})
	start := time.Now()
	if _, err := dialPaho5(t, addr, &tls.Config{RootCAs: ca.Pool()}, &paho.Connect{ClientID: "prompt"}); err != nil {
		t.Fatalf("a well-behaved client could not connect beside silent ones: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("connecting took %v beside silent clients", d)
	}
}

// TestCloseInterruptsHandshakes: closing the listener ends handshakes in
// progress at once, not after their timeout.
func TestCloseInterruptsHandshakes(t *testing.T) {
	ca := testcerts.NewCA(t, "tern-test")
	l, err := tlslistener.New("tls", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLS}},
		tlslistener.WithLogger(quiet()), tlslistener.WithHandshakeTimeout(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	b := startBroker(t, l)
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	checkFor(t, 5*time.Second, func() error {
		if handshakesRunning() == 0 {
			return fmt.Errorf("the handshake has not started")
		}
		return nil
	})
	start := time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v with a handshake pending", d)
	}
	if n := handshakesRunning(); n != 0 {
		t.Errorf("%d handshakes still running after the broker closed", n)
	}
}
