// Package thermostat is a small application to show how a Go program's
// tests use brokertest: it listens to temperature readings on
// home/<room>/temperature and switches home/<room>/heater "on" below a
// threshold and "off" above it.
package thermostat

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/eclipse/paho.golang/paho"
)

// Thermostat drives heaters from temperature readings.
type Thermostat struct {
	client    *paho.Client
	threshold float64
}

// Start subscribes with an already dialled paho client conn and reacts to
// readings until the client is disconnected.
func Start(ctx context.Context, cfg paho.ClientConfig, threshold float64) (*Thermostat, error) {
	th := &Thermostat{threshold: threshold}
	cfg.OnPublishReceived = append(cfg.OnPublishReceived, th.onReading)
	th.client = paho.NewClient(cfg)
	if _, err := th.client.Connect(ctx, &paho.Connect{ClientID: "thermostat", CleanStart: true, KeepAlive: 30}); err != nil {
		return nil, err
	}
	if _, err := th.client.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "home/+/temperature", QoS: 1}}}); err != nil {
		return nil, err
	}
	return th, nil
}

func (th *Thermostat) onReading(r paho.PublishReceived) (bool, error) {
	room := strings.Split(r.Packet.Topic, "/")[1]
	t, err := strconv.ParseFloat(string(r.Packet.Payload), 64)
	if err != nil {
		return true, nil // not a reading: ignore
	}
	state := "off"
	if t < th.threshold {
		state = "on"
	}
	go func() {
		_, _ = th.client.Publish(context.Background(), &paho.Publish{Topic: fmt.Sprintf("home/%s/heater", room), QoS: 1, Retain: true, Payload: []byte(state)})
	}()
	return true, nil
}

// Stop disconnects.
func (th *Thermostat) Stop() { _ = th.client.Disconnect(&paho.Disconnect{}) }
