package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/brokertest"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRatesCountRealTraffic(t *testing.T) {
	r := &rates{}
	b := brokertest.New(t, broker.WithMetrics(r))
	c := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + b.Addr).SetClientID("m").SetProtocolVersion(4))
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(100)
	got := make(chan struct{}, 10)
	c.Subscribe("m/#", 1, func(mqtt.Client, mqtt.Message) { got <- struct{}{} }).Wait()
	for range 3 {
		c.Publish("m/x", 1, false, "v").Wait()
	}
	for range 3 {
		<-got
	}
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.report(ctx, 20*time.Millisecond, slog.New(slog.NewTextHandler(&out, nil)))
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(out.String(), "rates per minute"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no report logged")
		}
	}
	// 3 in 20 ms is 9,000 a minute; a delivery is counted once acknowledged.
	line := strings.SplitN(out.String(), "\n", 2)[0]
	if !strings.Contains(line, "published=9000") || !strings.Contains(line, "connects=3000") {
		t.Fatalf("first report %q, want published=9000 connects=3000", line)
	}
}
