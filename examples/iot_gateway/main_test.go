package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/ternmq/broker"
)

// plcDir holds the node-opcua test PLC (make deps installs node-opcua).
const plcDir = "../../listeners/opcua/testdata/node"

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startPLC runs plc.js on port and waits until it listens.
func startPLC(t *testing.T, port int) {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(plcDir, "node_modules", "node-opcua"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node-opcua not installed (make deps): %v", err)
		}
		t.Skipf("node-opcua not installed (make deps): %v", err)
	}
	cmd := exec.Command(bin, "plc.js", strconv.Itoa(port), "50")
	cmd.Dir = plcDir
	cmd.Env = append(os.Environ(), "OPCUA_PKI="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdin = strings.NewReader("") // plc.js reads commands; none here
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.Contains(sc.Text(), `"event":"ready"`) {
				close(ready)
				break
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("the test PLC did not start")
	}
}

// TestGatewayMapsPLCTagsToTopics runs the gateway against the node-opcua
// test PLC: its tags reach an MQTT subscriber on the mapped topics, over
// TCP and over WebSocket, and a setpoint command comes back as the tag's
// new value.
func TestGatewayMapsPLCTagsToTopics(t *testing.T) {
	plcAddr := freeAddr(t)
	_, port, _ := net.SplitHostPort(plcAddr)
	p, _ := strconv.Atoi(port)
	startPLC(t, p)

	mqttAddr, wsAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	up := make(chan *broker.Broker, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		done <- run(ctx, config{mqtt: mqttAddr, ws: wsAddr, plc: "opc.tcp://" + plcAddr + "/plc", namespace: "urn:tern:test-plc"}, log, func(b *broker.Broker) { up <- b })
	}()
	select {
	case <-up:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway did not start")
	}

	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("cloud").SetAutoReconnect(false))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	msgs := make(chan paho.Message, 1000)
	if tok := c.Subscribe("plant/#", 1, func(_ paho.Client, m paho.Message) { msgs <- m }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	next := func(pred func(topic string, v map[string]any) bool) map[string]any {
		t.Helper()
		deadline := time.After(30 * time.Second)
		for {
			select {
			case m := <-msgs:
				var v map[string]any
				_ = json.Unmarshal(m.Payload(), &v)
				if pred(m.Topic(), v) {
					return v
				}
			case <-deadline:
				t.Fatal("no matching message")
			}
		}
	}
	v := next(func(topic string, v map[string]any) bool { return topic == "plant/line1/name" })
	if v["value"] != "press-7" || v["type"] != "String" || v["status"] != "Good" {
		t.Errorf("name: %v", v)
	}
	v = next(func(topic string, v map[string]any) bool { return topic == "plant/line1/temperature" })
	if _, ok := v["value"].(float64); !ok || v["type"] != "Double" {
		t.Errorf("temperature: %v", v)
	}
	if tok := c.Publish("plant/line1/setpoint/set", 1, false, "61.5"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	v = next(func(topic string, v map[string]any) bool { return topic == "plant/line1/setpoint/set/result" })
	if v["status"] != "Good" {
		t.Errorf("result: %v", v)
	}
	next(func(topic string, v map[string]any) bool {
		return topic == "plant/line1/setpoint" && v["value"] == 61.5
	})

	// The same tags over WebSocket.
	ws := paho.NewClient(paho.NewClientOptions().AddBroker("ws://" + wsAddr + "/mqtt").SetClientID("browser").SetAutoReconnect(false))
	if tok := ws.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer ws.Disconnect(100)
	names := make(chan string, 10)
	if tok := ws.Subscribe("plant/line1/name", 1, func(_ paho.Client, m paho.Message) { names <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	select {
	case n := <-names:
		if !strings.Contains(n, `"press-7"`) {
			t.Errorf("over WebSocket: %s", n)
		}
	case <-time.After(10 * time.Second):
		t.Error("nothing over WebSocket")
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
}
