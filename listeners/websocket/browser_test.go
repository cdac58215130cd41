package websocket_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/listeners/websocket"
)

const (
	chromiumPath = "/usr/bin/chromium"
	browserDir   = "testdata/browser"
)

// needBrowser skips when chromium, node or the npm packages are missing,
// unless TERN_REQUIRE_BROWSER is set: then their absence fails the test.
func needBrowser(t *testing.T) string {
	t.Helper()
	missing := func(what string) {
		if os.Getenv("TERN_REQUIRE_BROWSER") != "" {
			t.Fatalf("%s, and TERN_REQUIRE_BROWSER is set (make deps installs it)", what)
		}
		t.Skipf("%s: the real-browser test is skipped (make deps installs it; TERN_REQUIRE_BROWSER=1 makes this a failure)", what)
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing("Debian's chromium is not installed")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	for _, p := range []string{"node_modules/playwright-core", "node_modules/mqtt/dist/mqtt.min.js"} {
		if _, err := os.Stat(filepath.Join(browserDir, p)); err != nil {
			missing("the npm packages of " + browserDir + " are not installed (npm ci)")
		}
	}
	return node
}

// TestBrowserMQTTjs: MQTT.js, the npm package mqtt, in Debian's chromium
// (headless, driven by playwright-core) connects over ws:// from a page the
// test serves on another origin (allowed by WithAllowedOrigins), with MQTT
// 5 and 3.1.1. For each it subscribes, receives what a Go paho client
// publishes at QoS 0, 1 and 2, and publishes each back at the same QoS to
// the Go client.
func TestBrowserMQTTjs(t *testing.T) {
	node := needBrowser(t)
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			http.ServeFile(w, r, filepath.Join(browserDir, "page.html"))
		case "/favicon.ico":
			w.WriteHeader(http.StatusNoContent)
		case "/mqtt.min.js":
			http.ServeFile(w, r, filepath.Join(browserDir, "node_modules/mqtt/dist/mqtt.min.js"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer page.Close()
	l, err := websocket.New("ws", "127.0.0.1:0", websocket.WithLogger(quiet()), websocket.WithAllowedOrigins(page.URL))
	if err != nil {
		t.Fatal(err)
	}
	startBroker(t, []listeners.Listener{l})
	wsURL := "ws://" + l.Addr().String() + "/mqtt"

	// The Go client answers each page's "ready" with three messages, one
	// per QoS, and collects the echoes.
	var goClient *autopaho.ConnectionManager
	ready := make(chan string, 2)
	goClient, in := dialAutopaho(t, wsURL, "go-peer", autopaho.ClientConfig{
		ClientConfig: paho.ClientConfig{OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(r paho.PublishReceived) (bool, error) {
				if tag, ok := strings.CutPrefix(r.Packet.Topic, "browser/ready/"); ok {
					ready <- tag
				}
				return true, nil
			},
		}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, err := goClient.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: "browser/ready/#", QoS: 1}, {Topic: "from-browser/#", QoS: 2},
	}}); err != nil {
		t.Fatal(err)
	}
	sendErr := make(chan error, 1)
	go func() {
		for range 2 {
			select {
			case tag := <-ready:
				for qos := range byte(3) {
					topic := fmt.Sprintf("to-browser/%s/qos%d", tag, qos)
					if _, err := goClient.Publish(ctx, &paho.Publish{Topic: topic, QoS: qos, Payload: []byte("go-" + tag)}); err != nil {
						sendErr <- err
						return
					}
				}
			case <-ctx.Done():
				sendErr <- ctx.Err()
				return
			}
		}
		sendErr <- nil
	}()

	var urls []string
	for _, v := range []string{"5", "4"} {
		urls = append(urls, page.URL+"/?"+url.Values{"ws": {wsURL}, "v": {v}}.Encode())
	}
	cmd := exec.CommandContext(ctx, node, append([]string{"run.js"}, urls...)...)
	cmd.Dir = browserDir
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromiumPath)
	out, err := cmd.CombinedOutput()
	t.Logf("chromium + MQTT.js:\n%s", out)
	if err != nil {
		t.Fatalf("the browser run failed: %v", err)
	}
	if err := <-sendErr; err != nil {
		t.Fatalf("Go client publishing to the browser: %v", err)
	}
	got := in.waitFor(t, 6)
	var echoes []string
	for _, m := range got {
		if strings.HasPrefix(m, "from-browser/") {
			echoes = append(echoes, m)
		}
	}
	slices.Sort(echoes)
	var want []string
	for _, tag := range []string{"v4", "v5"} {
		for qos := range 3 {
			want = append(want, fmt.Sprintf("from-browser/%s/qos%d echo:go-%s %d", tag, qos, tag, qos))
		}
	}
	if !slices.Equal(echoes, want) {
		t.Errorf("the Go client received %q, want %q", echoes, want)
	}
}
