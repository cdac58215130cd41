package coap_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
	"github.com/ternmq/broker"
)

// TestThroughput measures publishes per second through the CoAP listener
// (go-coap's client, confirmable and not) beside MQTT over TCP (Paho) on
// the same broker, each for a few seconds. It is a measurement, not a
// check: it runs only with TERN_COAP_THROUGHPUT set to the time per row
// (e.g. 3s; run it without -race), and logs a table.
func TestThroughput(t *testing.T) {
	env := os.Getenv("TERN_COAP_THROUGHPUT")
	if env == "" {
		t.Skip("set TERN_COAP_THROUGHPUT=3s to measure")
	}
	window, err := time.ParseDuration(env)
	if err != nil {
		t.Fatalf("TERN_COAP_THROUGHPUT=%q: %v", env, err)
	}
	const clients = 16
	e := start(t, nil)
	// One subscriber, so that every publish is routed somewhere.
	cancel, err := e.b.Subscribe("bench/#", 0, func(*broker.Message) {})
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()
	payload := strings.Repeat("x", 64)

	// coapRun publishes from n go-coap clients for the window; each waits
	// for its response before the next request.
	coapRun := func(n int, typ message.Type) float64 {
		conns := make([]*udpclient.Conn, n)
		for i := range conns {
			conns[i] = dial(t, e.coapAddr)
		}
		var count atomic.Int64
		var wg sync.WaitGroup
		deadline := time.Now().Add(window)
		for i, co := range conns {
			wg.Go(func() {
				topic := fmt.Sprintf("/ps/bench/coap/%d", i)
				for time.Now().Before(deadline) {
					req, err := co.NewPostRequest(context.Background(), topic, message.TextPlain, strings.NewReader(payload))
					if err != nil {
						t.Error(err)
						return
					}
					req.SetType(typ)
					resp, err := co.Do(req)
					co.ReleaseMessage(req)
					if err != nil || resp.Code() != codes.Changed {
						t.Errorf("publish: %v", err)
						return
					}
					count.Add(1)
				}
			})
		}
		wg.Wait()
		for _, co := range conns {
			_ = co.Close()
		}
		return float64(count.Load()) / window.Seconds()
	}

	// mqttRun publishes from one Paho client with n publishes in flight.
	mqttRun := func(n int, qos byte) float64 {
		c := dialMQTT(t, e.tcpAddr, fmt.Sprintf("bench-%d-%d", n, qos))
		var count atomic.Int64
		var wg sync.WaitGroup
		deadline := time.Now().Add(window)
		for range n {
			wg.Go(func() {
				for time.Now().Before(deadline) {
					if _, err := c.Publish(context.Background(), &paho.Publish{Topic: "bench/mqtt", QoS: qos, Payload: []byte(payload)}); err != nil {
						t.Errorf("paho publish: %v", err)
						return
					}
					count.Add(1)
				}
			})
		}
		wg.Wait()
		return float64(count.Load()) / window.Seconds()
	}

	rows := []struct {
		name string
		run  func() float64
	}{
		{"CoAP CON, 1 client", func() float64 { return coapRun(1, message.Confirmable) }},
		{"CoAP NON, 1 client", func() float64 { return coapRun(1, message.NonConfirmable) }},
		{fmt.Sprintf("CoAP CON, %d clients", clients), func() float64 { return coapRun(clients, message.Confirmable) }},
		{fmt.Sprintf("CoAP NON, %d clients", clients), func() float64 { return coapRun(clients, message.NonConfirmable) }},
		{"MQTT/TCP QoS 1, 1 in flight", func() float64 { return mqttRun(1, 1) }},
		{fmt.Sprintf("MQTT/TCP QoS 1, %d in flight", clients), func() float64 { return mqttRun(clients, 1) }},
		{fmt.Sprintf("MQTT/TCP QoS 0, %d publishers on 1 conn", clients), func() float64 { return mqttRun(clients, 0) }},
	}
	var table strings.Builder
	fmt.Fprintf(&table, "\n| publisher | publishes/s |\n|---|---:|\n")
	for _, r := range rows {
		fmt.Fprintf(&table, "| %s | %.0f |\n", r.name, r.run())
	}
	fmt.Fprintf(&table, "(%d-byte payloads, %v per row, one in-process subscriber)\n", len(payload), window)
	t.Log(table.String())
}
