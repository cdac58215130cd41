package websocket_test

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/internal/testcerts"
	"github.com/ternmq/broker/listeners"
	tlslistener "github.com/ternmq/broker/listeners/tls"
	"github.com/ternmq/broker/listeners/websocket"
)

// dialPaho3 connects paho.mqtt.golang (MQTT 3.1.1) to serverURL.
func dialPaho3(t *testing.T, serverURL, id string, cfg *tls.Config) mqtt.Client {
	t.Helper()
	opts := mqtt.NewClientOptions().
		AddBroker(serverURL).
		SetClientID(id).
		SetProtocolVersion(4).
		SetAutoReconnect(false).
		SetConnectTimeout(10 * time.Second)
	if cfg != nil {
		opts.SetTLSConfig(cfg)
	}
	c := mqtt.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("paho.mqtt.golang connect to %s: %v", serverURL, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// exchange has a 3.1.1 client (paho.mqtt.golang) and a 5.0 client
// (paho.golang autopaho) swap messages through base ("ws://host:port/mqtt"
// or wss://...) at QoS 0, 1 and 2 in both directions.
func exchange(t *testing.T, base string, cfg *tls.Config) {
	t.Helper()
	v3in := &inbox{}
	v3 := dialPaho3(t, base, "v3", cfg)
	if tok := v3.Subscribe("to/v3/#", 2, func(_ mqtt.Client, m mqtt.Message) { v3in.add(m.Topic(), m.Payload(), m.Qos()) }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	v5, v5in := dialAutopaho(t, base, "v5", autopaho.ClientConfig{TlsCfg: cfg})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := v5.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "to/v5/#", QoS: 2}}}); err != nil {
		t.Fatal(err)
	}
	for qos := range byte(3) {
		if _, err := v5.Publish(ctx, &paho.Publish{Topic: "to/v3/q", QoS: qos, Payload: []byte{'a' + qos}}); err != nil {
			t.Fatalf("v5 publish QoS %d: %v", qos, err)
		}
		if tok := v3.Publish("to/v5/q", qos, false, []byte{'A' + qos}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("v3 publish QoS %d: %v", qos, tok.Error())
		}
	}
	want3 := []string{"to/v3/q a 0", "to/v3/q b 1", "to/v3/q c 2"}
	want5 := []string{"to/v5/q A 0", "to/v5/q B 1", "to/v5/q C 2"}
	for name, got := range map[string][]string{"paho.mqtt.golang": v3in.waitFor(t, 3), "paho.golang": v5in.waitFor(t, 3)} {
		want := want3
		if name == "paho.golang" {
			want = want5
		}
		if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("%s received %q, want %q", name, got, want)
		}
	}
}

// TestPahoClientsOverWebSocket: paho.mqtt.golang (3.1.1) and paho.golang
// (5.0), both of which dial with gorilla/websocket and offer "mqtt", talk
// through the listener over ws:// at every QoS.
func TestPahoClientsOverWebSocket(t *testing.T) {
	l, err := websocket.New("ws", "127.0.0.1:0", websocket.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	auth := &authRecorder{}
	startBroker(t, []listeners.Listener{l}, broker.WithAuthenticator(auth))
	exchange(t, "ws://"+l.Addr().String()+"/mqtt", nil)
	c, ok := auth.get("v5")
	if !ok || c.Listener != "ws" || c.TLS != nil {
		t.Errorf("ClientInfo over ws: listener %q, TLS %v; want \"ws\" and no TLS", c.Listener, c.TLS)
	}
}

// TestPahoClientsOverWSS: the same over wss:// with a certificate reloaded
// from files; the broker sees the TLS state, and with WithIdentity the
// client certificate's CN becomes the user name.
func TestPahoClientsOverWSS(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "tern-test")
	cert, key := ca.Server(t).WriteFiles(t, dir, "server")
	r, err := tlslistener.NewReloader(tlslistener.Files{Cert: cert, Key: key, ClientCA: ca.WriteFile(t, dir), ClientAuth: tls.RequireAndVerifyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	l, err := websocket.New("wss", "127.0.0.1:0", websocket.WithTLS(r.Config()), websocket.WithIdentity(tlslistener.IdentityCN), websocket.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	auth := &authRecorder{}
	startBroker(t, []listeners.Listener{l}, broker.WithAuthenticator(auth))
	clientCfg := &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{ca.Client(t, "browser-7").TLS}}
	exchange(t, "wss://"+l.Addr().String()+"/mqtt", clientCfg)
	c, ok := auth.get("v5")
	switch {
	case !ok:
		t.Fatal("the authenticator never saw the client")
	case c.TLS == nil || len(c.TLS.PeerCertificates) == 0:
		t.Error("ClientInfo.TLS lacks the client certificate over wss")
	case c.Username != "browser-7":
		t.Errorf("Credentials.Username = %q, want the certificate's CN", c.Username)
	}
}
