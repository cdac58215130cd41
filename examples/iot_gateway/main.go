// Command iot_gateway is an IoT gateway in one program: a Tern broker
// that serves MQTT over TCP and over WebSocket (ws://host:port/mqtt, for
// browsers and HTTP proxies) and reads a PLC over OPC UA on the plant
// side, mapping the PLC's tags to topics.
//
//	iot_gateway -mqtt 127.0.0.1:1883 -ws 127.0.0.1:8080 -plc opc.tcp://192.168.0.10:4840
//
// Every change of a tag is published (JSON: value, type, status, source
// timestamp) to its topic; a message on plant/line1/setpoint/set is
// written to the PLC's setpoint, and the outcome published to
// plant/line1/setpoint/set/result. The connection state is retained on
// $SYS/opcua/plc/state ("up" or "down"); the gateway reconnects on its
// own. The tags are those of the test PLC in
// listeners/opcua/testdata/node/plc.js (node plc.js 4840): edit tags below
// for a real one.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/opcua"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/listeners/websocket"
)

// tags maps the PLC's nodes to topics. The nsu= form names the PLC's
// namespace by URI, so the mapping survives a PLC whose namespace indexes
// change.
func tags(ns string) []opcua.NodeMap {
	node := func(id string) string { return "nsu=" + ns + ";s=" + id }
	return []opcua.NodeMap{
		{NodeID: node("Line1.Temperature"), Topic: "plant/line1/temperature", QoS: 1, Retain: true},
		{NodeID: node("Line1.Counter"), Topic: "plant/line1/counter"},
		{NodeID: node("Line1.Name"), Topic: "plant/line1/name", Retain: true},
		{NodeID: node("Line1.Setpoint"), Topic: "plant/line1/setpoint", QoS: 1, Retain: true, CommandTopic: "plant/line1/setpoint/set"},
	}
}

// config is the gateway's command line.
type config struct {
	mqtt      string // MQTT over TCP, host:port
	ws        string // MQTT over WebSocket, host:port (path /mqtt); "" for none
	plc       string // the PLC's OPC UA endpoint
	namespace string // the URI of the PLC's namespace holding the tags
}

func main() {
	var c config
	flag.StringVar(&c.mqtt, "mqtt", "127.0.0.1:1883", "MQTT over TCP `address`")
	flag.StringVar(&c.ws, "ws", "127.0.0.1:8080", "MQTT over WebSocket `address` (path /mqtt; empty: none)")
	flag.StringVar(&c.plc, "plc", "opc.tcp://127.0.0.1:4840/plc", "the PLC's OPC UA `endpoint`")
	flag.StringVar(&c.namespace, "namespace", "urn:tern:test-plc", "`URI` of the PLC's namespace")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(ctx, c, log, nil); err != nil {
		fmt.Fprintln(os.Stderr, "iot_gateway:", err)
		os.Exit(1)
	}
}

// run serves until ctx is done. started, when not nil, gets the broker
// once it serves (for tests).
func run(ctx context.Context, c config, log *slog.Logger, started func(*broker.Broker)) error {
	mqtt, err := tcp.New("tcp", c.mqtt)
	if err != nil {
		return err
	}
	plc, err := opcua.NewClient("plc", opcua.ClientConfig{
		Endpoint: c.plc,
		Nodes:    tags(c.namespace),
		Logger:   log,
	})
	if err != nil {
		mqtt.Close()
		return err
	}
	opts := []broker.Option{
		broker.WithLogger(log),
		broker.WithListener(mqtt),
		broker.WithListener(plc),
	}
	closeAll := func() { mqtt.Close() }
	if c.ws != "" {
		ws, err := websocket.New("ws", c.ws, websocket.WithLogger(log))
		if err != nil {
			mqtt.Close()
			return err
		}
		opts = append(opts, broker.WithListener(ws))
		closeAll = func() { mqtt.Close(); ws.Close() }
	}
	b, err := broker.New(opts...)
	if err != nil {
		closeAll()
		return err
	}
	if err := b.Start(ctx); err != nil {
		_ = b.Close()
		return err
	}
	log.Info("gateway running", "mqtt", mqtt.Addr().String(), "ws", c.ws, "plc", c.plc)
	if started != nil {
		started(b)
	}
	<-ctx.Done()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return b.Shutdown(sctx)
}
