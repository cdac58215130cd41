package thermostat_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/ternmq/broker/brokertest"
	thermostat "github.com/ternmq/broker/examples/testing"
)

// TestHeaterFollowsTemperature is how an application tests itself against
// a real broker: brokertest starts one for the test, the application
// connects with its own client library, the test publishes readings and
// awaits what the application publishes.
func TestHeaterFollowsTemperature(t *testing.T) {
	b := brokertest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	nc, err := net.Dial("tcp", b.Addr)
	if err != nil {
		t.Fatal(err)
	}
	th, err := thermostat.Start(ctx, paho.ClientConfig{Conn: nc}, 19.5)
	if err != nil {
		t.Fatal(err)
	}
	defer th.Stop()

	sensor := paho.NewClient(paho.ClientConfig{Conn: b.Dial()})
	if _, err := sensor.Connect(ctx, &paho.Connect{ClientID: "sensor", CleanStart: true}); err != nil { // no keep alive: see brokertest.Dial
		t.Fatal(err)
	}
	defer sensor.Disconnect(&paho.Disconnect{})
	for i, r := range []string{"17.0", "22.5"} {
		if _, err := sensor.Publish(ctx, &paho.Publish{Topic: "home/kitchen/temperature", QoS: 1, Payload: []byte(r)}); err != nil {
			t.Fatal(err)
		}
		b.Await(t, "home/kitchen/heater", i+1, 5*time.Second) // one answer per reading, in order
	}
	got := b.Await(t, "home/kitchen/heater", 2, 5*time.Second)
	if string(got[0].Payload) != "on" || string(got[1].Payload) != "off" || !got[1].Retain {
		t.Fatalf("heater went %q then %q", got[0].Payload, got[1].Payload)
	}
	b.AssertNoMessage(t, "home/+/alarm", 50*time.Millisecond)
}
