package coap_test

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	piondtls "github.com/pion/dtls/v3"
	"github.com/plgd-dev/go-coap/v3/dtls"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/coap"
	"github.com/ternmq/broker/packets"
)

// CoAP over DTLS with pre-shared keys (RFC 7252 §9.1.3.1): the PSK
// identity, verified by the handshake, is the user name the broker sees.

var pskKeys = map[string][]byte{"sensor": []byte("s3cret-psk"), "alice": []byte("alice-psk")}

func pskServer() coap.Option {
	return coap.WithDTLS(
		piondtls.WithPSK(func(identity []byte) ([]byte, error) {
			if k, ok := pskKeys[string(identity)]; ok {
				return k, nil
			}
			return nil, errors.New("unknown PSK identity")
		}),
		piondtls.WithPSKIdentityHint([]byte("tern")),
		piondtls.WithCipherSuites(piondtls.TLS_PSK_WITH_AES_128_CCM_8, piondtls.TLS_PSK_WITH_AES_128_GCM_SHA256, piondtls.TLS_PSK_WITH_AES_128_CBC_SHA256),
	)
}

// pskAuth accepts the identities the handshake verified (they arrive
// without a password) and applies the users ACL.
type pskAuth struct{ users }

func (a *pskAuth) Authenticate(_ context.Context, c *broker.Credentials) error {
	a.mu.Lock()
	a.seen = append(a.seen, c.ClientInfo)
	a.mu.Unlock()
	if _, ok := pskKeys[c.Username]; !ok {
		return packets.BadUserNameOrPassword
	}
	return nil
}

func dialPSK(t *testing.T, addr, identity string, key []byte) *udpclient.Conn {
	t.Helper()
	cfg := &piondtls.Config{
		PSK:             func([]byte) ([]byte, error) { return key, nil },
		PSKIdentityHint: []byte(identity),
		CipherSuites:    []piondtls.CipherSuiteID{piondtls.TLS_PSK_WITH_AES_128_CCM_8},
	}
	return dialWith(t, func(opts ...udp.Option) (*udpclient.Conn, error) { return dtls.Dial(addr, cfg, opts...) })
}

// TestDTLSPSK: go-coap's DTLS client publishes and observes; the broker
// authenticates the PSK identity and applies its ACL.
func TestDTLSPSK(t *testing.T) {
	a := &pskAuth{}
	e := start(t, []broker.Option{broker.WithAuthenticator(a), broker.WithAuthorizer(broker.SimpleAuthorizer(&a.users))}, pskServer())
	got := subscribe(t, e.b, "#")
	co := dialPSK(t, e.coapAddr, "sensor", pskKeys["sensor"])
	ctx := ctx10(t)
	var n notes
	observe(t, ctx, co, "/ps/sensor/cmd", &n)
	resp, err := co.Post(ctx, "/ps/sensor/temp", message.TextPlain, strings.NewReader("21"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Code() != codes.Changed {
		t.Fatalf("POST = %v", resp.Code())
	}
	if m := got.wait(t, 1)[0]; m.Topic != "sensor/temp" || string(m.Payload) != "21" {
		t.Errorf("published %s %q", m.Topic, m.Payload)
	}
	if resp, err = co.Post(ctx, "/ps/alice/temp", message.TextPlain, strings.NewReader("21")); err != nil || resp.Code() != codes.Forbidden {
		t.Errorf("POST to another user's topic = %v %v, want 4.03", resp.Code(), err)
	}
	if err := e.b.Publish("sensor/cmd", []byte("on"), 1, false); err != nil {
		t.Fatal(err)
	}
	if nt := n.wait(t, 2)[1]; nt.payload != "on" {
		t.Errorf("notification %q, want on", nt.payload)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen[0].Username != "sensor" {
		t.Errorf("authenticated as %q, want the PSK identity sensor", a.seen[0].Username)
	}
}

// TestCoapClientDTLS: Debian's coap-client built with OpenSSL (or GnuTLS)
// publishes and reads over coaps:// with a PSK identity and key (-u, -k);
// a wrong key gets no response.
func TestCoapClientDTLS(t *testing.T) {
	var bin string
	for _, name := range []string{"coap-client-openssl", "coap-client-gnutls"} {
		if p, err := exec.LookPath(name); err == nil {
			bin = p
			break
		}
	}
	if bin == "" {
		coapClient(t) // skips, or fails in CI
		t.Skip("no coap-client with DTLS")
	}
	a := &pskAuth{}
	e := start(t, []broker.Option{broker.WithAuthenticator(a), broker.WithAuthorizer(broker.SimpleAuthorizer(&a.users))}, pskServer())
	sub := subscribe(t, e.b, "sensor/#")
	uri := "coaps://" + e.coapAddr + "/ps/sensor/temp"
	if _, stderr := runCoapClient(t, bin, "-m", "put", "-u", "sensor", "-k", "s3cret-psk", "-e", "21.5", uri+"?retain=1&qos=1"); stderr != "" {
		t.Errorf("PUT: %s", stderr)
	}
	if m := sub.wait(t, 1)[0]; m.Topic != "sensor/temp" || string(m.Payload) != "21.5" {
		t.Errorf("subscriber got %s %q", m.Topic, m.Payload)
	}
	if out, _ := runCoapClient(t, bin, "-m", "get", "-u", "sensor", "-k", "s3cret-psk", uri); out != "21.5\n" {
		t.Errorf("GET = %q, want 21.5", out)
	}
	// A wrong key fails the handshake: the request is never sent.
	if out, _ := runCoapClient(t, bin, "-m", "get", "-B", "1", "-u", "sensor", "-k", "wrong", uri); strings.Contains(out, "21.5") {
		t.Errorf("GET with a wrong key = %q", out)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ci := range a.seen {
		if ci.Username != "sensor" {
			t.Errorf("authenticated %q, want only the PSK identity sensor", ci.Username)
		}
	}
}
