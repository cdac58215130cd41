package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ternmq/broker"
)

func TestForwardTimeoutRefusesThePublish(t *testing.T) {
	// A member that does not acknowledge a QoS 1 forward within
	// ForwardTimeout makes the publisher's node refuse the publish (v5:
	// PUBACK 0x80), neither sooner nor much later (the coarse clock of
	// tick.go). The silent member is a listener registered in etcd like a
	// node, with a route, that reads the link and never answers.
	const timeout = 600 * time.Millisecond
	tc := &testCluster{fwdTO: timeout}
	tc.init(t, 1, 5*time.Second)
	n0 := tc.nodes[0]

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, nc); _ = nc.Close() }()
		}
	}()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lease, err := cli.Grant(ctx, 30)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _, _ = cli.Revoke(context.Background(), lease.ID) }()
	m, _ := json.Marshal(Member{ID: "silent", Addr: ln.Addr().String(), Version: "test", Started: time.Now(), Broker: "silent-broker"})
	if _, err := cli.Put(ctx, n0.n.key("nodes/", "silent"), string(m), clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, n0.n.key("routes/", "silent", "/", "stall/#"), "", clientv3.WithLease(lease.ID)); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		if p := n0.n.peer("silent"); p == nil || !p.isUp() {
			return errors.New("no link to the silent member yet")
		}
		if out, _ := n0.n.plan(&broker.Message{Topic: "stall/x", QoS: 1}); len(out) == 0 {
			return errors.New("no route to the silent member yet")
		}
		return nil
	})

	pub, _ := dial(t, n0.addr, "pub", nil)
	start := time.Now()
	resp, err := pub.Publish(ctx, &paho.Publish{Topic: "stall/x", Payload: []byte("held"), QoS: 1})
	took := time.Since(start)
	if resp == nil || resp.ReasonCode != 0x80 {
		t.Fatalf("PUBACK %+v (%v) for a forward never acknowledged, want 0x80", resp, err)
	}
	if took < timeout || took > timeout+3*time.Second { // slack for a loaded CI machine
		t.Fatalf("refused after %v, want about %v", took, timeout)
	}
}
