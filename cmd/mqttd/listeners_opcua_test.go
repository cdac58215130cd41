package main

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/ternmq/broker/cmd/mqttd/internal/config"
)

// freeAddr returns a 127.0.0.1 address free just now.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestRunOPCUAServerAndClient runs mqttd with both OPC UA modes from YAML:
// client mode mirrors a node of server mode, so a retained MQTT message
// travels MQTT -> OPC UA server -> OPC UA client -> MQTT.
func TestRunOPCUAServerAndClient(t *testing.T) {
	mqttAddr, uaAddr := freeAddr(t), freeAddr(t)
	cfg, err := config.Parse("opcua.yaml", []byte(fmt.Sprintf(`
listeners:
  - {type: tcp, address: %q}
  - type: opcua
    name: plant
    address: %q
    opcua:
      mode: server
      expose: [{filter: "plant/#", encoding: number}]
  - type: opcua
    name: mirror
    opcua:
      mode: client
      endpoint: opc.tcp://%s
      payload: raw
      publishing_interval: 20ms
      reconnect_min: 50ms
      reconnect_max: 200ms
      request_timeout: 2s
      state_topic: status/mirror
      nodes:
        - {node_id: "nsu=urn:tern:mqtt;s=plant/temp", topic: mirror/temp, retain: true}
log: {level: error}
`, mqttAddr, uaAddr, uaAddr)), nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, cfg.Log.Logger(&logs)) }()

	c := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + mqttAddr).SetClientID("t").SetAutoReconnect(false).SetConnectRetry(false))
	waitFor(t, 10*time.Second, func() error {
		if tok := c.Connect(); !tok.WaitTimeout(time.Second) || tok.Error() != nil {
			return fmt.Errorf("connect: %v", tok.Error())
		}
		return nil
	})
	defer c.Disconnect(100)
	got := make(chan string, 100)
	if tok := c.Subscribe("mirror/temp", 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	if tok := c.Publish("plant/temp", 1, true, "21.5"); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	deadline := time.After(30 * time.Second)
	for v := ""; v != "21.5"; {
		select {
		case v = <-got:
		case <-deadline:
			t.Fatalf("mirror/temp never became 21.5; log:\n%s", logs.String())
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run = %v", err)
		}
	case <-time.After(15 * time.Second): // the default shutdown_timeout (10 s), and some
		t.Fatal("run did not return after cancel")
	}
}
