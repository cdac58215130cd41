package tls_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/internal/testcerts"
	tlslistener "github.com/ternmq/broker/listeners/tls"
)

// Integration with clients we did not write: Eclipse Paho's MQTT 3.1.1
// client (paho.mqtt.golang) over tls://, and its MQTT 5 client
// (paho.golang) over a *tls.Conn.

// paho5Client is a paho.golang client that collects what it receives.
type paho5Client struct {
	*paho.Client
	mu   sync.Mutex
	msgs []*paho.Publish
}

// dialPaho5 connects paho.golang over TLS with cfg and sends CONNECT cp.
func dialPaho5(t *testing.T, addr string, cfg *tls.Config, cp *paho.Connect) (*paho5Client, error) {
	t.Helper()
	nc, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	pc := &paho5Client{}
	pc.Client = paho.NewClient(paho.ClientConfig{
		Conn: nc,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			pc.mu.Lock()
			pc.msgs = append(pc.msgs, r.Packet)
			pc.mu.Unlock()
			return true, nil
		}},
	})
	// No keep alive: paho.golang sends its first PINGREQ at once from a
	// goroutine of its own, and over a tls.Conn a packet takes several
	// Writes, which that PINGREQ can land between.
	cp.KeepAlive, cp.CleanStart = 0, true
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := pc.Connect(ctx, cp); err != nil {
		_ = nc.Close()
		return nil, err
	}
	t.Cleanup(func() { _ = pc.Disconnect(&paho.Disconnect{}) })
	return pc, nil
}

func (p *paho5Client) waitFor(t *testing.T, n int) []*paho.Publish {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.msgs) < n {
			return fmt.Errorf("%d messages received, want %d", len(p.msgs), n)
		}
		return nil
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*paho.Publish(nil), p.msgs...)
}

// dialPaho3 connects paho.mqtt.golang to tls://addr with cfg.
func dialPaho3(t *testing.T, addr, id string, cfg *tls.Config) mqtt.Client {
	t.Helper()
	c := mqtt.NewClient(mqtt.NewClientOptions().
		AddBroker("tls://" + addr).
		SetClientID(id).
		SetProtocolVersion(4).
		SetTLSConfig(cfg).
		SetAutoReconnect(false).
		SetConnectTimeout(10 * time.Second))
	tok := c.Connect()
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("paho.mqtt.golang connect over TLS: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// TestPahoClientsOverTLS: a 3.1.1 client (paho.mqtt.golang, tls://) and a
// 5.0 client (paho.golang over a *tls.Conn) exchange messages both ways
// through the TLS listener at QoS 1, and the broker sees the TLS state.
func TestPahoClientsOverTLS(t *testing.T) {
	ca := testcerts.NewCA(t, "tern-test")
	l, err := tlslistener.New("tls", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{ca.Server(t).TLS}}, tlslistener.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	auth := &authRecorder{}
	startBroker(t, l, broker.WithAuthenticator(auth))
	addr := l.Addr().String()
	clientCfg := &tls.Config{RootCAs: ca.Pool()}

	v3 := dialPaho3(t, addr, "v3", clientCfg)
	got3 := make(chan mqtt.Message, 1)
	if tok := v3.Subscribe("to/v3", 1, func(_ mqtt.Client, m mqtt.Message) { got3 <- m }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	v5, err := dialPaho5(t, addr, clientCfg.Clone(), &paho.Connect{ClientID: "v5"})
	if err != nil {
		t.Fatalf("paho.golang over TLS: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := v5.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "to/v5", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}

	if _, err := v5.Publish(ctx, &paho.Publish{Topic: "to/v3", QoS: 1, Payload: []byte("from v5")}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got3:
		if string(m.Payload()) != "from v5" {
			t.Errorf("v3 got %q, want \"from v5\"", m.Payload())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the 3.1.1 client received nothing over TLS")
	}
	if tok := v3.Publish("to/v5", 1, false, "from v3"); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	if msgs := v5.waitFor(t, 1); string(msgs[0].Payload) != "from v3" {
		t.Errorf("v5 got %q, want \"from v3\"", msgs[0].Payload)
	}

	for _, id := range []string{"v3", "v5"} {
		c, ok := auth.get(id)
		switch {
		case !ok:
			t.Errorf("%s: never authenticated", id)
		case c.TLS == nil:
			t.Errorf("%s: ClientInfo.TLS is nil over a TLS listener", id)
		case !c.TLS.HandshakeComplete || c.TLS.Version < tls.VersionTLS12:
			t.Errorf("%s: ClientInfo.TLS = handshake complete %v, version %x", id, c.TLS.HandshakeComplete, c.TLS.Version)
		case c.Listener != "tls":
			t.Errorf("%s: ClientInfo.Listener = %q, want \"tls\"", id, c.Listener)
		}
	}
}

// TestIdentityBecomesUsername: under mTLS with WithIdentity, the verified
// client certificate's CN or first SAN reaches the Authenticator as
// Credentials.Username, replacing the user name the CONNECT claims
// (Mosquitto's use_identity_as_username); ClientInfo.TLS carries the
// certificate.
func TestIdentityBecomesUsername(t *testing.T) {
	ca := testcerts.NewCA(t, "tern-test")
	server := ca.Server(t)
	cases := []struct {
		name  string
		field tlslistener.IdentityField
		spec  testcerts.Spec
		want  string
	}{
		{"cn", tlslistener.IdentityCN, testcerts.Spec{CN: "device-7"}, "device-7"},
		{"san dns", tlslistener.IdentitySAN, testcerts.Spec{CN: "ignored", DNS: []string{"dev7.example.com", "other.example.com"}}, "dev7.example.com"},
		{"san email", tlslistener.IdentitySAN, testcerts.Spec{CN: "ignored", Emails: []string{"ops@example.com"}}, "ops@example.com"},
		{"san uri", tlslistener.IdentitySAN, testcerts.Spec{CN: "ignored", URIs: []string{"spiffe://example.org/sensor/7"}}, "spiffe://example.org/sensor/7"},
		{"san ip", tlslistener.IdentitySAN, testcerts.Spec{CN: "ignored", IPs: []net.IP{net.IPv4(10, 1, 2, 3)}}, "10.1.2.3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := &tls.Config{
				Certificates: []tls.Certificate{server.TLS},
				ClientAuth:   tls.RequireAndVerifyClientCert,
				ClientCAs:    ca.Pool(),
			}
			l, err := tlslistener.New("mtls", "127.0.0.1:0", cfg, tlslistener.WithIdentity(tc.field), tlslistener.WithLogger(quiet()))
			if err != nil {
				t.Fatal(err)
			}
			auth := &authRecorder{}
			startBroker(t, l, broker.WithAuthenticator(auth))
			spec := tc.spec
			spec.Client = true
			client := ca.Issue(t, spec)
			_, err = dialPaho5(t, l.Addr().String(),
				&tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{client.TLS}},
				&paho.Connect{ClientID: "c1", Username: "mallory", UsernameFlag: true})
			if err != nil {
				t.Fatalf("connect with a client certificate: %v", err)
			}
			c, ok := auth.get("c1")
			if !ok {
				t.Fatal("the authenticator never saw the client")
			}
			if c.Username != tc.want {
				t.Errorf("Credentials.Username = %q, want %q from the certificate", c.Username, tc.want)
			}
			if c.TLS == nil || len(c.TLS.PeerCertificates) == 0 || c.TLS.PeerCertificates[0].SerialNumber.Cmp(client.Leaf.SerialNumber) != 0 {
				t.Errorf("ClientInfo.TLS does not carry the client certificate")
			}
		})
	}
}

// TestIdentityWithoutClientCertificateRefused: with WithIdentity and client
// certificates only requested, a client that sends none is refused after
// the handshake, since nothing vouches for a user name.
func TestIdentityWithoutClientCertificateRefused(t *testing.T) {
	ca := testcerts.NewCA(t, "tern-test")
	cfg := &tls.Config{
		Certificates: []tls.Certificate{ca.Server(t).TLS},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    ca.Pool(),
	}
	logs := &logBuffer{}
	l, err := tlslistener.New("mtls", "127.0.0.1:0", cfg, tlslistener.WithIdentity(tlslistener.IdentityCN), tlslistener.WithLogger(logs.logger()))
	if err != nil {
		t.Fatal(err)
	}
	auth := &authRecorder{}
	startBroker(t, l, broker.WithAuthenticator(auth))
	if _, err := dialPaho5(t, l.Addr().String(), &tls.Config{RootCAs: ca.Pool()}, &paho.Connect{ClientID: "anon", Username: "admin", UsernameFlag: true}); err == nil {
		t.Fatal("a client without a certificate connected to a listener whose user names come from certificates")
	}
	if _, ok := auth.get("anon"); ok {
		t.Error("the authenticator saw a client that should have been refused before CONNECT")
	}
	checkFor(t, 5*time.Second, func() error {
		if s := logs.String(); !containsAll(s, "listener=mtls", "no verified client certificate") {
			return fmt.Errorf("log %q does not say why the client was refused", s)
		}
		return nil
	})
	noHandshakeLeft(t)
}
