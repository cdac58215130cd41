// Command custom_listener shows a transport written by the user of the
// library: Pipe (pipe.go, under 40 lines) serves in-memory connections,
// registered with broker.WithListener like any built-in listener. A
// paho.golang client connects through it, subscribes, publishes and prints
// what comes back.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/ternmq/broker"
)

func main() {
	msg, err := run(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, "custom_listener:", err)
		os.Exit(1)
	}
	fmt.Println(msg)
}

// run starts a broker on a Pipe, sends one message through it and returns
// what the client received.
func run(ctx context.Context) (string, error) {
	pipe := NewPipe()
	b, err := broker.New(broker.WithListener(pipe))
	if err != nil {
		return "", err
	}
	if err := b.Start(ctx); err != nil {
		return "", err
	}
	defer b.Close()

	conn, err := pipe.Dial()
	if err != nil {
		return "", err
	}
	received := make(chan string, 1)
	client := paho.NewClient(paho.ClientConfig{
		Conn: conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			received <- r.Packet.Topic + ": " + string(r.Packet.Payload)
			return true, nil
		}},
	})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := client.Connect(ctx, &paho.Connect{ClientID: "piped", KeepAlive: 30, CleanStart: true}); err != nil {
		return "", err
	}
	defer client.Disconnect(&paho.Disconnect{})
	if _, err := client.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "pipe/#", QoS: 1}}}); err != nil {
		return "", err
	}
	if _, err := client.Publish(ctx, &paho.Publish{Topic: "pipe/hello", QoS: 1, Payload: []byte("no socket involved")}); err != nil {
		return "", err
	}
	select {
	case m := <-received:
		return m, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}
