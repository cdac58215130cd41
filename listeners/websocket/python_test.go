package websocket_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/autopaho"
	"github.com/eclipse/paho.golang/paho"
	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/listeners/websocket"
)

// debianPython is Debian's interpreter, where python3-paho-mqtt installs
// (a python3 earlier on PATH may be another one).
const debianPython = "/usr/bin/python3"

// needPahoPython skips when python3-paho-mqtt is missing locally; in CI
// (CI=true) that is a failure, since make deps installs it.
func needPahoPython(t *testing.T) {
	t.Helper()
	if err := exec.Command(debianPython, "-c", "import paho.mqtt.client").Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3-paho-mqtt not installed: %v", err)
		}
		t.Skip("python3-paho-mqtt not installed (make deps installs it)")
	}
}

// TestPythonPahoOverWebSocket: Debian's python3-paho-mqtt 1.6 with
// transport="websockets" (its own WebSocket code, not gorilla's) at MQTT
// 3.1.1 and 5 receives a message a Go client publishes and answers it.
func TestPythonPahoOverWebSocket(t *testing.T) {
	needPahoPython(t)
	l, err := websocket.New("ws", "127.0.0.1:0", websocket.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	startBroker(t, []listeners.Listener{l})
	host, port, _ := strings.Cut(l.Addr().String(), ":")
	goClient, in := dialAutopaho(t, "ws://"+l.Addr().String()+"/mqtt", "go", autopaho.ClientConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := goClient.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "py/out", QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
	for i, version := range []string{"4", "5"} {
		t.Run("MQTT "+version, func(t *testing.T) {
			cmd := exec.CommandContext(ctx, debianPython, "testdata/paho_ws.py", host, port, "/mqtt", version)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if line, err := bufio.NewReader(out).ReadString('\n'); err != nil || line != "subscribed\n" {
				_ = cmd.Wait()
				t.Fatalf("python client: %q, %v: %s", line, err, stderr.String())
			}
			payload := "hello-" + version
			if _, err := goClient.Publish(ctx, &paho.Publish{Topic: "py/in", QoS: 1, Payload: []byte(payload)}); err != nil {
				t.Fatal(err)
			}
			if err := cmd.Wait(); err != nil {
				t.Fatalf("python client: %v: %s", err, stderr.String())
			}
			if got := in.waitFor(t, i+1)[i]; got != "py/out echo:"+payload+" 1" {
				t.Errorf("Go client received %q, want the echo of %q", got, payload)
			}
		})
	}
}
