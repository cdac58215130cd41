//go:build unix

package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestBinaryCoAP runs mqttd with a coap listener beside a tcp one, as an
// operator would, and talks to it with Debian's coap-client (libcoap) and
// Eclipse Paho: what coap-client publishes Paho receives, what Paho
// publishes coap-client's observation prints, and SIGTERM ends the
// observation with a 5.03 before mqttd exits 0.
func TestBinaryCoAP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	coapClient := lookCoapClient(t)
	bin := buildMqttd(t)
	conf := filepath.Join(t.TempDir(), "tern.yaml")
	writeFile(t, conf, `listeners:
  - type: tcp
    address: 127.0.0.1:0
  - type: coap
    address: 127.0.0.1:0
    coap:
      username: device
      inactivity_timeout: 30s
log:
  level: info
`)
	p := start(t, bin, nil, "-config", conf)
	addrs := strings.Split(listenAddr(t, p), ",")
	if len(addrs) != 2 {
		t.Fatalf("listening on %v, want a tcp and a coap address", addrs)
	}
	tcpAddr, coapURI := addrs[0], "coap://"+addrs[1]+"/ps/"

	var mu sync.Mutex
	var got []*paho.Publish
	nc, err := net.Dial("tcp", tcpAddr)
	if err != nil {
		t.Fatal(err)
	}
	pc := paho.NewClient(paho.ClientConfig{Conn: nc, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(r paho.PublishReceived) (bool, error) {
			mu.Lock()
			got = append(got, r.Packet)
			mu.Unlock()
			return true, nil
		},
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := pc.Connect(ctx, &paho.Connect{ClientID: "paho", KeepAlive: 30, CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "from-coap/#", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}

	// coap-client publishes; Paho receives.
	if out, err := exec.CommandContext(ctx, coapClient, "-m", "post", "-t", "50", "-e", `{"t":21}`, coapURI+"from-coap/temp?qos=1").CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("coap-client post: %v %s", err, out)
	}
	waitFor(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 {
			return os.ErrNotExist
		}
		return nil
	})
	mu.Lock()
	m := got[0]
	mu.Unlock()
	if m.Topic != "from-coap/temp" || string(m.Payload) != `{"t":21}` || m.Properties.ContentType != "application/json" {
		t.Errorf("Paho got %s %q content type %q", m.Topic, m.Payload, m.Properties.ContentType)
	}

	// coap-client observes (-v 7 also prints every datagram it receives);
	// Paho publishes. stdbuf makes coap-client print each notification as
	// it comes.
	stdbuf, err := exec.LookPath("stdbuf")
	if err != nil {
		t.Fatal("stdbuf (coreutils) not found")
	}
	obs := exec.CommandContext(ctx, stdbuf, "-oL", coapClient, "-m", "get", "-s", "60", "-v", "7", "-w", coapURI+"to-coap/%23")
	var out syncBuffer
	obs.Stdout = &out
	if err := obs.Start(); err != nil {
		t.Fatal(err)
	}
	observed := make(chan error, 1)
	go func() { observed <- obs.Wait() }()
	// Retained, so that the observation gets it even if it registers after
	// the publish.
	if _, err := pc.Publish(ctx, &paho.Publish{Topic: "to-coap/a", Payload: []byte("hello coap"), QoS: 1, Retain: true}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "hello coap\n") {
			return fmt.Errorf("coap-client printed %q, want the message Paho published", out.String())
		}
		return nil
	})

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("mqttd still running 10 s after SIGTERM; stderr:\n%s", p.stderr())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d, want 0; stderr:\n%s", code, p.stderr())
	}
	// On its way out the broker ended the observation with a 5.03 (RFC 7641
	// §3.2). coap-client notes it but waits for its -s to run out.
	waitFor(t, 10*time.Second, func() error {
		if !strings.Contains(out.String(), "c:5.03") {
			return fmt.Errorf("coap-client received no 5.03; it printed:\n%s", out.String())
		}
		return nil
	})
	_ = obs.Process.Signal(os.Interrupt)
	if err := <-observed; err != nil {
		t.Errorf("coap-client observe: %v", err)
	}
}

// lookCoapClient finds Debian's coap-client (libcoap3-bin installs it as
// coap-client-notls and friends), skipping the test when it is missing
// outside CI.
func lookCoapClient(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"coap-client-notls", "coap-client", "coap-client-openssl", "coap-client-gnutls"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("coap-client not installed (.ci/deps/coap.sh installs libcoap3-bin)")
	}
	t.Skip("coap-client not installed")
	return ""
}
