//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/storage/bolt"
)

// The graceful shutdown, step by step, with real clients against the real
// mqttd binary (architecture document, "Graceful Shutdown"): 1 stop
// accepting, 2 DISCONNECT to every client, 3 wait for in-flight QoS 1/2
// to complete, 4 persist session state, 5 close storage, 6 exit 0.

// TestShutdownSixSteps: SIGTERM while QoS 2 flows are in progress in both
// directions. New connections are refused at once while the flows
// complete; then MQTT 5 clients get DISCONNECT 0x8B and 3.1.1 clients see
// their connection closed; mqttd exits 0 well within shutdown_timeout; the
// queue of a persistent session is on disk (bolt, read after the exit)
// and is delivered after a restart.
func TestShutdownSixSteps(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the daemon")
	}
	bin := buildMqttd(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "data", "tern.db")
	conf := filepath.Join(dir, "tern.yaml")
	writeFile(t, conf, fmt.Sprintf(`listeners:
  - type: tcp
    address: 127.0.0.1:0
storage:
  type: bolt
  bolt: {path: %s, sync: always}
metrics: {enabled: true, address: "127.0.0.1:0"}
shutdown_timeout: 10s
`, db))
	p := start(t, bin, nil, "-config", conf)
	addr := listenAddr(t, p)
	ops := "http://" + metricsLine.FindStringSubmatch(p.stderr())[1]

	// A persistent session, offline, with three QoS 1 messages queued.
	durable := dialMQTT(t, addr, "durable", false, nil)
	durable.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("queue/#"), QoS: 1}}})
	durable.want(packets.SUBACK)
	durable.send(&packets.Disconnect{})
	durable.close()
	pub := dialMQTT(t, addr, "pub", true, nil)
	for i := range 3 {
		pub.send(&packets.Publish{QoS: 1, PacketID: uint16(i + 1), Topic: []byte("queue/x"), Payload: []byte(fmt.Sprint(i))})
		pub.want(packets.PUBACK)
	}

	// An MQTT 5 client that only watches.
	watcher := dial5(t, addr, "watcher")

	// QoS 2 towards a subscriber: PUBLISH delivered, PUBREC not yet sent.
	q2sub := dialMQTT(t, addr, "q2sub", true, nil)
	q2sub.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("flow"), QoS: 2}}})
	q2sub.want(packets.SUBACK)
	// QoS 2 from a publisher: PUBREC received, PUBREL not yet sent.
	pub.send(&packets.Publish{QoS: 2, PacketID: 10, Topic: []byte("flow"), Payload: []byte("exactly once")})
	pub.want(packets.PUBREC)
	inflight := q2sub.publish(t)
	if string(inflight.Payload) != "exactly once" {
		t.Fatalf("q2sub got %q", inflight.Payload)
	}

	// Step 1: SIGTERM stops accepting while the flows are pending.
	sigterm := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return nil // refused: nobody listens
		}
		c.Close()
		return errors.New("still accepting connections after SIGTERM")
	})
	if code, body := httpGet(t, ops+"/readyz"); code != 503 || body != "shutting down\n" {
		t.Errorf("/readyz during shutdown = %d %q", code, body)
	}
	select {
	case <-p.done:
		t.Fatalf("mqttd exited with QoS 2 flows in progress; stderr:\n%s", p.stderr())
	default:
	}

	// Step 3: both QoS 2 flows complete during the shutdown [MQTT-4.3.3].
	pub.send(&packets.Ack{Kind: packets.PUBREL, PacketID: 10})
	pub.want(packets.PUBCOMP)
	q2sub.send(&packets.Ack{Kind: packets.PUBREC, PacketID: inflight.PacketID})
	q2sub.want(packets.PUBREL)
	q2sub.send(&packets.Ack{Kind: packets.PUBCOMP, PacketID: inflight.PacketID})

	// Step 2: DISCONNECT 0x8B to the MQTT 5 client [MQTT-3.14.2-1]; 3.1.1
	// clients have no DISCONNECT from the server: their connection closes.
	if code := watcher.disconnectReason(t); code != packets.ServerShuttingDown {
		t.Errorf("watcher got DISCONNECT %v, want 0x8B server shutting down", code)
	}
	for _, c := range []*mqttConn{pub, q2sub} {
		if err := c.expect(packets.DISCONNECT); err == nil {
			t.Error("a 3.1.1 client got a DISCONNECT")
		}
	}

	// Step 6: exit 0, as soon as the flows completed.
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM; stderr:\n%s", p.stderr())
	}
	took := time.Since(sigterm)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit status %d, want 0; stderr:\n%s", code, p.stderr())
	}
	if took > 5*time.Second {
		t.Errorf("shutdown took %v with nothing left in flight, want well under shutdown_timeout (10 s)", took)
	}
	t.Logf("SIGTERM to exit: %v", took)
	if !strings.Contains(p.stderr(), `msg="tern stopped"`) {
		t.Errorf("no stop line:\n%s", p.stderr())
	}

	// Steps 4 and 5: the session and its queue are on disk, and the store
	// was released (bolt would wait for a lock otherwise).
	st, err := bolt.Open(db, bolt.WithLockTimeout(2*time.Second))
	if err != nil {
		t.Fatalf("opening the database after the exit: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := st.Sessions().Get(ctx, "durable"); err != nil {
		t.Errorf("session durable after shutdown: %v", err)
	}
	var queued []string
	if err := st.Queues().Range(ctx, "durable", func(q *storage.Queued) bool {
		queued = append(queued, string(q.Payload))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(queued, ",") != "0,1,2" {
		t.Fatalf("queue of durable on disk: %q, want 0,1,2", queued)
	}

	// After a restart the queue is delivered, in order.
	p = start(t, bin, nil, "-config", conf)
	addr = listenAddr(t, p)
	durable = dialMQTT(t, addr, "durable", false, nil)
	for i := range 3 {
		m := durable.publish(t)
		if string(m.Payload) != fmt.Sprint(i) {
			t.Fatalf("after restart: message %d is %q", i, m.Payload)
		}
		durable.send(&packets.Ack{Kind: packets.PUBACK, PacketID: m.PacketID})
	}
}

// TestShutdownTimeoutBoundsTheWait: a subscriber that never acknowledges
// holds the shutdown for shutdown_timeout, no longer; mqttd still exits 0.
func TestShutdownTimeoutBoundsTheWait(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the daemon")
	}
	p, addr := startWithHeldDelivery(t, "1s")
	sigterm := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("still running 10 s after SIGTERM with shutdown_timeout 1s; stderr:\n%s", p.stderr())
	}
	took := time.Since(sigterm)
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d, want 0; stderr:\n%s", code, p.stderr())
	}
	if took < time.Second || took > 5*time.Second {
		t.Errorf("SIGTERM to exit: %v, want about the 1 s shutdown_timeout", took)
	}
	t.Logf("SIGTERM to exit with an unacknowledged delivery: %v (addr %s)", took, addr)
}

// TestSecondSignalExitsAtOnce: during a shutdown that would wait 30 s, a
// second SIGTERM ends mqttd at once, with status 1.
func TestSecondSignalExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the daemon")
	}
	p, _ := startWithHeldDelivery(t, "30s")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if !strings.Contains(p.stderr(), `msg="tern shutting down"`) {
			return errors.New("no shutdown line yet")
		}
		return nil
	})
	second := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatalf("still running 5 s after the second SIGTERM; stderr:\n%s", p.stderr())
	}
	if took := time.Since(second); took > 2*time.Second {
		t.Errorf("second signal to exit: %v", took)
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	if !strings.Contains(p.stderr(), "second signal (terminated): exiting without finishing the shutdown") {
		t.Errorf("stderr does not say why:\n%s", p.stderr())
	}
}

// TestSIGHUPKeepsConnections: SIGHUP reloads without dropping anyone.
func TestSIGHUPKeepsConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the daemon")
	}
	bin := buildMqttd(t)
	conf := filepath.Join(t.TempDir(), "tern.yaml")
	writeFile(t, conf, "listeners:\n  - type: tcp\n    address: 127.0.0.1:0\n")
	p := start(t, bin, nil, "-config", conf)
	c := dialMQTT(t, listenAddr(t, p), "stays", true, nil)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if !strings.Contains(p.stderr(), `msg="SIGHUP: reloading"`) {
			return errors.New("no reload line")
		}
		return nil
	})
	c.send(&packets.Pingreq{})
	c.want(packets.PINGRESP)
}

// startWithHeldDelivery runs mqttd with the given shutdown_timeout and a
// subscriber holding a QoS 1 delivery it will never acknowledge.
func startWithHeldDelivery(t *testing.T, timeout string) (*process, string) {
	t.Helper()
	bin := buildMqttd(t)
	conf := filepath.Join(t.TempDir(), "tern.yaml")
	writeFile(t, conf, "listeners:\n  - type: tcp\n    address: 127.0.0.1:0\nshutdown_timeout: "+timeout+"\n")
	p := start(t, bin, nil, "-config", conf)
	addr := listenAddr(t, p)
	sub := dialMQTT(t, addr, "silent", true, nil)
	sub.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("held"), QoS: 1}}})
	sub.want(packets.SUBACK)
	pub := dialMQTT(t, addr, "pub", true, nil)
	pub.send(&packets.Publish{QoS: 1, PacketID: 1, Topic: []byte("held"), Payload: []byte("never acked")})
	pub.want(packets.PUBACK)
	sub.publish(t)
	return p, addr
}

// conn5 is a minimal MQTT 5 client.
type conn5 struct {
	nc net.Conn
	r  *packets.Reader
}

func dial5(t *testing.T, addr, id string) *conn5 {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = nc.Close() })
	c := &conn5{nc: nc, r: packets.NewReader(nc, 0)}
	out, err := (&packets.Connect{Version: packets.V5, ClientID: []byte(id), CleanStart: true, KeepAlive: 60}).Append(nil, packets.V5)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write(out); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if fh, _, err := c.r.Next(); err != nil || fh.Type != packets.CONNACK {
		t.Fatalf("CONNACK: %v %v", fh.Type, err)
	}
	return c
}

// disconnectReason reads until a DISCONNECT and returns its reason code.
func (c *conn5) disconnectReason(t *testing.T) packets.ReasonCode {
	t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(15 * time.Second))
	for {
		fh, body, err := c.r.Next()
		if err != nil {
			t.Fatalf("waiting for DISCONNECT: %v", err)
		}
		if fh.Type != packets.DISCONNECT {
			continue
		}
		var d packets.Disconnect
		if err := d.Decode(fh.Flags, body, packets.V5); err != nil {
			t.Fatal(err)
		}
		return d.ReasonCode
	}
}
