package etcd

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/internal/mqtttest"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/packets"
)

// TestBrokerSurvivesEtcdLoss runs Debian's etcd-server in its own process
// under a broker: while etcd is killed, a publish that must be stored gets
// PUBACK 0x83 (not a false success, not a hang); when etcd is back the
// broker stores again, and the subscriber gets what was acknowledged.
func TestBrokerSurvivesEtcdLoss(t *testing.T) {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("etcd (Debian etcd-server) not installed")
		}
		t.Skip("etcd (Debian etcd-server) not installed")
	}
	dir := t.TempDir()
	client, peer := freePort(t), freePort(t)
	startEtcd := func() *exec.Cmd {
		cmd := exec.Command(bin, "--data-dir", dir, "--name", "loss",
			"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
			"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
			"--initial-cluster", "loss=http://"+peer)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	etcdProc := startEtcd()
	var store *Store
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		store, err = New(ctx, Config{Endpoints: []string{"http://" + client}, DialTimeout: 2 * time.Second, Prefix: "/loss/"})
		cancel()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("etcd did not start: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	l, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(broker.WithListener(l), broker.WithStorage(store),
		broker.WithLimits(broker.Limits{StorageTimeout: time.Second}),
		broker.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	addr := l.Addr().String()

	sub := mqtt5(t, addr, "keeper", false)
	sub.Send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("safe"), QoS: 1}}})
	next(t, sub)
	sub.Send(&packets.Disconnect{})
	pub := mqtt5(t, addr, "pub", true)
	publish := func(id uint16, payload string) packets.ReasonCode {
		pub.Send(&packets.Publish{QoS: 1, PacketID: id, Topic: []byte("safe"), Payload: []byte(payload)})
		a, ok := next(t, pub).(*packets.Ack)
		if !ok || a.Kind != packets.PUBACK {
			t.Fatalf("got %#v, want PUBACK", a)
		}
		return a.ReasonCode
	}
	if code := publish(1, "before"); code != packets.Success {
		t.Fatalf("PUBACK %v with etcd up", code)
	}
	_ = etcdProc.Process.Kill() // SIGKILL, stopped by PID
	_ = etcdProc.Wait()
	start := time.Now()
	if code := publish(2, "lost"); code != packets.ImplementationSpecificError {
		t.Fatalf("PUBACK %v with etcd down, want 0x83", code)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the failing publish took %v", d)
	}
	startEtcd()
	var id uint16 = 3
	for code := publish(id, "after"); code != packets.Success; code = publish(id, "after") {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("still PUBACK %v 30 s after etcd returned", code)
		}
		id++
		time.Sleep(200 * time.Millisecond)
	}
	sub = mqtt5(t, addr, "keeper", false)
	for _, want := range []string{"before", "after"} {
		p, ok := next(t, sub).(*packets.Publish)
		if !ok || string(p.Payload) != want {
			t.Fatalf("got %#v, want %q", p, want)
		}
		sub.Send(&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// mqtt5 connects a raw MQTT 5 client with client id; a session that is not
// clean lasts an hour.
func mqtt5(t *testing.T, addr, id string, clean bool) *mqtttest.Conn {
	t.Helper()
	c := mqtttest.Dial(t, addr)
	p := &packets.Connect{Version: packets.V5, ClientID: []byte(id), CleanStart: clean, KeepAlive: 60}
	if !clean {
		p.Properties.SessionExpiry = 3600
		p.Properties.Present.Add(packets.PropSessionExpiry)
	}
	c.Connect(p, packets.Success)
	return c
}

// next reads the next packet, waiting longer than mqtttest does: etcd may
// be coming back.
func next(t *testing.T, c *mqtttest.Conn) packets.Packet {
	t.Helper()
	p, err := c.TryNext(10 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
