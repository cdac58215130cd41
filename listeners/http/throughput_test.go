package httpbridge_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/ternmq/broker"
)

// TestThroughput measures publishes per second over HTTP (keep-alive, 50
// concurrent requests) and over MQTT on TCP (paho.golang, 50 concurrent
// publishers on one connection), QoS 0 and 1, on one broker in one run,
// with one in-process subscriber receiving everything. It is a
// measurement, not a check: it runs only with TERN_HTTP_THROUGHPUT=1.
//
//	TERN_HTTP_THROUGHPUT=1 go test -run TestThroughput -v ./listeners/http
func TestThroughput(t *testing.T) {
	if os.Getenv("TERN_HTTP_THROUGHPUT") == "" {
		t.Skip("a measurement: set TERN_HTTP_THROUGHPUT=1")
	}
	const (
		workers = 50
		period  = 3 * time.Second
	)
	e := newEnv(t, nil)
	var received atomic.Int64
	cancel, err := e.b.Subscribe("bench/#", 1, func(*broker.Message) { received.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer cancel()

	// run calls publish from workers goroutines for period and returns
	// the completed publishes per second.
	run := func(publish func() error) float64 {
		var n atomic.Int64
		var wg sync.WaitGroup
		stop := time.Now().Add(period)
		for range workers {
			wg.Go(func() {
				for time.Now().Before(stop) {
					if err := publish(); err != nil {
						t.Error(err)
						return
					}
					n.Add(1)
				}
			})
		}
		wg.Wait()
		return float64(n.Load()) / period.Seconds()
	}

	tr := &http.Transport{MaxIdleConns: workers, MaxIdleConnsPerHost: workers, MaxConnsPerHost: workers}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	payload := strings.Repeat("x", 64)
	httpPublish := func(qos string) func() error {
		url := e.base + "/publish/bench/http?qos=" + qos
		return func() error {
			resp, err := hc.Post(url, "", strings.NewReader(payload))
			if err != nil {
				return err
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			return resp.Body.Close()
		}
	}
	p := dialPaho(t, e.mqtt, "bench", nil)
	pahoPublish := func(qos byte) func() error {
		return func() error {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_, err := p.Publish(ctx, &paho.Publish{Topic: "bench/mqtt", QoS: qos, Payload: []byte(payload)})
			return err
		}
	}

	results := []struct {
		name string
		rate float64
	}{
		{"HTTP POST QoS 0, keep-alive, 50 concurrent", run(httpPublish("0"))},
		{"HTTP POST QoS 1, keep-alive, 50 concurrent", run(httpPublish("1"))},
		{"MQTT/TCP paho.golang QoS 0, 50 concurrent, 1 connection", run(pahoPublish(0))},
		{"MQTT/TCP paho.golang QoS 1, 50 concurrent, 1 connection", run(pahoPublish(1))},
	}
	for _, r := range results {
		t.Logf("%-58s %9.0f publishes/s", r.name, r.rate)
	}
	t.Logf("the subscriber received %d messages", received.Load())
}
