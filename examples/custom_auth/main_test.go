package main

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

func dial(t *testing.T, addr, user, pass string, got chan<- string) (*paho.Client, *paho.Connack, error) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: nc, OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(r paho.PublishReceived) (bool, error) { got <- string(r.Packet.Payload); return true, nil },
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ack, err := c.Connect(ctx, &paho.Connect{ClientID: user, Username: user, UsernameFlag: true, Password: []byte(pass), PasswordFlag: true, CleanStart: true, KeepAlive: 30})
	return c, ack, err
}

func TestCustomAuth(t *testing.T) {
	b, err := newBroker("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	addr := b.Listeners()[0].Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if _, ack, err := dial(t, addr, "bob", "wrong", nil); err == nil || ack == nil || ack.ReasonCode != 0x86 {
		t.Fatalf("wrong password: %v %+v", err, ack)
	}
	bobGot := make(chan string, 4)
	bob, _, err := dial(t, addr, "bob", "builder", bobGot)
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Disconnect(&paho.Disconnect{})
	sa, err := bob.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "tenants/acme/#", QoS: 1}, {Topic: "tenants/other/#", QoS: 1}}})
	if sa == nil { // paho also reports the refused filter as an error
		t.Fatal(err)
	}
	if sa.Reasons[0] != 1 || sa.Reasons[1] != 0x87 {
		t.Fatalf("SUBACK %v: want own tenant granted, other refused", sa.Reasons)
	}
	if pa, err := bob.Publish(ctx, &paho.Publish{Topic: "tenants/other/x", QoS: 1, Payload: []byte("no")}); err == nil && pa.ReasonCode != 0x87 {
		t.Fatalf("bob published to another tenant: 0x%02x", pa.ReasonCode)
	}

	alice, _, err := dial(t, addr, "alice", "wonderland", make(chan string, 1))
	if err != nil {
		t.Fatal(err)
	}
	defer alice.Disconnect(&paho.Disconnect{})
	if _, err := alice.Publish(ctx, &paho.Publish{Topic: "tenants/acme/news", QoS: 1, Payload: []byte("hello acme")}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-bobGot:
		if m != "hello acme" {
			t.Fatal(m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("bob got nothing")
	}
}
