//go:build unix

package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestBinaryHTTP runs mqttd as its own process with a TCP and an HTTP
// listener (type: http) and talks to it with Debian's curl and with
// paho.golang: what curl publishes reaches the MQTT subscriber, what the
// MQTT client publishes reaches `curl -N` as a Server-Sent Event, curl
// reads the retained message; on SIGTERM the event stream ends and mqttd
// exits 0.
func TestBinaryHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	curlBin, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed (make deps installs it)")
	}
	bin := buildMqttd(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "tern.yaml")
	writeFile(t, conf, `listeners:
  - type: tcp
    address: 127.0.0.1:0
  - type: http
    name: web
    address: 127.0.0.1:0
    http:
      max_body_size: 1024
log:
  level: info
`)
	p := start(t, bin, nil, "-config", conf)
	var m []string
	waitFor(t, 10*time.Second, func() error {
		if m = listeningLine.FindStringSubmatch(p.stderr()); m == nil {
			return errors.New("no listening line; stderr:\n" + p.stderr())
		}
		return nil
	})
	mqttAddr, httpAddr, ok := strings.Cut(m[1], ",")
	if !ok {
		t.Fatalf("addr=%s, want two addresses", m[1])
	}
	base := "http://" + httpAddr

	var (
		mu  sync.Mutex
		got []*paho.Publish
	)
	nc, err := net.Dial("tcp", mqttAddr)
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
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := pc.Connect(ctx, &paho.Connect{ClientID: "paho", KeepAlive: 30, CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	defer pc.Disconnect(&paho.Disconnect{})
	if _, err := pc.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "from/curl", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}

	curl := func(args ...string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, curlBin, append([]string{"-sS"}, args...)...).Output()
		if err != nil {
			t.Fatalf("curl %q: %v", args, err)
		}
		return string(out)
	}
	if out := curl("--data-binary", "hi from curl", base+"/publish/from/curl?qos=1&retain=true"); out != `{"delivered_to":1}`+"\n" {
		t.Errorf("publish answered %q", out)
	}
	waitFor(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 {
			return errors.New("paho got nothing")
		}
		return nil
	})
	mu.Lock()
	if m := got[0]; m.Topic != "from/curl" || string(m.Payload) != "hi from curl" {
		t.Errorf("paho got %s %q", m.Topic, m.Payload)
	}
	mu.Unlock()
	if out := curl(base + "/retained?topic=from/curl"); !strings.Contains(out, `"payload":"hi from curl"`) {
		t.Errorf("retained: %s", out)
	}
	if code := curl("-o", "/dev/null", "-w", "%{http_code}", "--data-binary", strings.Repeat("x", 1025), base+"/publish/big"); code != "413" {
		t.Errorf("a body over max_body_size: %s, want 413", code)
	}

	// curl -N subscribes; paho publishes.
	sse := exec.Command(curlBin, "-sS", "-N", base+"/subscribe?filter=to/%23")
	out, err := sse.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sse.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sse.Process.Kill(); _ = sse.Wait() }()
	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	next := func(prefix string) string {
		t.Helper()
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("curl's stream ended before %q", prefix)
				}
				if strings.HasPrefix(l, prefix) {
					return l
				}
			case <-ctx.Done():
				t.Fatalf("no %q from curl", prefix)
			}
		}
	}
	next("event: open")
	if _, err := pc.Publish(ctx, &paho.Publish{Topic: "to/curl", QoS: 1, Payload: []byte("hi from paho")}); err != nil {
		t.Fatal(err)
	}
	next("event: message")
	if d := next("data: "); !strings.Contains(d, `"topic":"to/curl","payload":"hi from paho"`) {
		t.Errorf("event data %s", d)
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The stream ends when mqttd closes the bridge.
	ended := time.After(10 * time.Second)
drain:
	for {
		select {
		case _, ok := <-lines:
			if !ok {
				break drain
			}
		case <-ended:
			t.Fatal("the event stream is still open 10 s after SIGTERM")
		}
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM; stderr:\n%s", p.stderr())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d, want 0; stderr:\n%s", code, p.stderr())
	}
}
