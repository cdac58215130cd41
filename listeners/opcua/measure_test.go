package opcua

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/ternmq/broker/listeners"
)

// TestMeasureNodeOPCUAToMQTT measures data changes per second and
// end-to-end latency from node-opcua's server through client mode to a
// paho subscriber. It runs only with OPCUA_MEASURE=1 (the figures in
// README.md came from it, without -race):
//
//	OPCUA_MEASURE=1 go test -run TestMeasure -v ./listeners/opcua/
//
// The PLC sets Bench.Stamp to the wall clock in milliseconds; the
// subscriber's receive time minus the value is the latency.
func TestMeasureNodeOPCUAToMQTT(t *testing.T) {
	if os.Getenv("OPCUA_MEASURE") == "" {
		t.Skip("set OPCUA_MEASURE=1 to measure")
	}
	bin := needNode(t)
	port := freePort(t)
	plc := startPLC(t, bin, port, time.Hour)
	interval := 50 * time.Millisecond
	if s := os.Getenv("OPCUA_MEASURE_INTERVAL"); s != "" {
		interval, _ = time.ParseDuration(s)
	}
	c, err := NewClient("bench", ClientConfig{
		Endpoint:           fmt.Sprintf("opc.tcp://127.0.0.1:%d/plc", port),
		Nodes:              []NodeMap{{NodeID: "nsu=urn:tern:test-plc;s=Bench.Stamp", Topic: "bench/stamp"}},
		Payload:            PayloadRaw,
		PublishingInterval: interval,
		QueueSize:          10000,
		Logger:             testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, addr := startBroker(t, []listeners.Listener{c})
	sub := mqttClient(t, addr, "bench-sub")
	type sample struct {
		at    time.Time
		value float64
	}
	ch := make(chan sample, 1<<20)
	if tok := sub.Subscribe("bench/stamp", 0, func(_ paho.Client, m paho.Message) {
		v, _ := strconv.ParseFloat(string(m.Payload()), 64)
		ch <- sample{time.Now(), v}
	}); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	checkFor(t, 30*time.Second, func() error {
		if c.Stats().State != "up" {
			return fmt.Errorf("not connected")
		}
		return nil
	})
	drain := func(quiet time.Duration) []sample {
		var out []sample
		for {
			select {
			case s := <-ch:
				if s.value > 0 {
					out = append(out, s)
				}
			case <-time.After(quiet):
				return out
			}
		}
	}
	drain(500 * time.Millisecond) // the initial value

	// Throughput: as many changes as node-opcua makes.
	const burst = 20000
	start := c.Stats()
	r := plc.call(map[string]any{"cmd": "burst", "count": burst, "rate": 0}, 60*time.Second)
	got := drain(2 * time.Second)
	end := c.Stats()
	if len(got) > 1 {
		span := got[len(got)-1].at.Sub(got[0].at)
		t.Logf("throughput: node-opcua set %d values in %.0f ms; OPC UA delivered %d data changes, Tern published %d, paho received %d in %v: %.0f data changes/s",
			burst, r["ms"].(float64), end.DataChanges-start.DataChanges, end.Published-start.Published, len(got), span.Round(time.Millisecond), float64(len(got))/span.Seconds())
	}

	// Latency at a steady rate.
	const rate, count = 500, 2500
	plc.call(map[string]any{"cmd": "burst", "count": count, "rate": rate}, 60*time.Second)
	got = drain(2 * time.Second)
	lat := make([]float64, 0, len(got))
	for _, s := range got {
		lat = append(lat, float64(s.at.UnixNano())/1e6-s.value)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return lat[int(math.Min(float64(len(lat)-1), p*float64(len(lat))))] }
	if len(lat) > 0 {
		t.Logf("latency at %d changes/s (publishing interval %v): %d of %d received, p50 %.1f ms, p99 %.1f ms, max %.1f ms",
			rate, interval, len(lat), count, pct(0.50), pct(0.99), lat[len(lat)-1])
	}
}
