//go:build unix

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/ternmq/broker/internal/mqtttest"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ternmq/broker/internal/etcdtest"
	"github.com/ternmq/broker/packets"
)

// TestCrashLosesNothing runs mqttd on bolt storage (sync: batch, whose
// acknowledgements wait for the group commit), kills it with SIGKILL and
// starts it again: every message it acknowledged is delivered, in order, QoS
// 2 exactly once, retained messages are kept and the will of a client that
// was connected at the crash is published.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the daemon")
	}
	dir := t.TempDir()
	crashScenario(t, fmt.Sprintf("storage:\n  type: bolt\n  bolt:\n    path: %s\n    sync: batch\n", filepath.Join(dir, "data", "tern.db")))
}

// TestCrashLosesNothingEtcd is the same crash with etcd storage (an etcd
// server embedded in the test process, which outlives the killed broker).
func TestCrashLosesNothingEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the daemon")
	}
	endpoint := etcdtest.Start(t)
	crashScenario(t, fmt.Sprintf("storage:\n  type: etcd\n  etcd:\n    endpoints: [%q]\n    prefix: /crash-test/\n", endpoint))
}

// crashScenario runs the crash test with the storage section storageYAML.
func crashScenario(t *testing.T, storageYAML string) {
	const pubs, perPub, qos2 = 10, 1000, 200
	bin := buildMqttd(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "tern.yaml")
	writeFile(t, conf, "listeners:\n  - type: tcp\n    address: 127.0.0.1:0\n"+storageYAML)
	addr := func(p *process) string { return listenAddr(t, p) }
	p := start(t, bin, nil, "-config", conf)
	a := addr(p)

	for _, s := range []struct {
		id, filter string
		qos        byte
	}{{"sub1", "crash/1/#", 1}, {"sub2", "crash/2", 2}, {"watch", "crash/will", 1}} {
		c := dialMQTT(t, a, s.id, false, nil)
		c.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte(s.filter), QoS: s.qos}}})
		c.want(packets.SUBACK)
		c.send(&packets.Disconnect{})
		c.close()
	}
	// Connected at the crash, with a will.
	dialMQTT(t, a, "doomed", true, &packets.Connect{WillFlag: true, WillQoS: 1, WillTopic: []byte("crash/will"), WillPayload: []byte("doomed is gone")})

	var wg sync.WaitGroup
	errs := make(chan error, pubs)
	for i := range pubs {
		wg.Go(func() {
			c := dialMQTT(t, a, fmt.Sprintf("pub%d", i), true, nil)
			defer c.close()
			payload := make([]byte, 8)
			var out []byte
			const window = 100
			for n := 0; n < perPub; n += window {
				out = out[:0]
				for k := n; k < n+window; k++ {
					binary.BigEndian.PutUint32(payload, uint32(i))
					binary.BigEndian.PutUint32(payload[4:], uint32(k))
					out, _ = (&packets.Publish{QoS: 1, PacketID: uint16(k + 1), Topic: []byte(fmt.Sprintf("crash/1/%d", i)), Payload: payload}).Append(out, packets.V311)
				}
				c.write(out)
				for range window {
					if err := c.expect(packets.PUBACK); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	q2 := dialMQTT(t, a, "pubq2", true, nil)
	for k := range qos2 {
		q2.send(&packets.Publish{QoS: 2, PacketID: uint16(k + 1), Topic: []byte("crash/2"), Payload: []byte(fmt.Sprint(k))})
		q2.want(packets.PUBREC)
		q2.send(&packets.Ack{Kind: packets.PUBREL, PacketID: uint16(k + 1)})
		q2.want(packets.PUBCOMP)
	}
	q2.send(&packets.Publish{QoS: 1, PacketID: 1, Retain: true, Topic: []byte("crash/retained"), Payload: []byte("kept")})
	q2.want(packets.PUBACK)

	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	p = start(t, bin, nil, "-config", conf)
	a = addr(p)

	// Every acknowledged QoS 1 message, in order per publisher.
	s1 := dialMQTT(t, a, "sub1", false, nil)
	next := make([]uint32, pubs)
	for got := 0; got < pubs*perPub; got++ {
		pk := s1.publish(t)
		i, k := binary.BigEndian.Uint32(pk.Payload), binary.BigEndian.Uint32(pk.Payload[4:])
		if k != next[i] {
			t.Fatalf("publisher %d: got message %d, want %d (after %d deliveries)", i, k, next[i], got)
		}
		next[i]++
		s1.send(&packets.Ack{Kind: packets.PUBACK, PacketID: pk.PacketID})
	}
	// QoS 2: exactly once.
	s2 := dialMQTT(t, a, "sub2", false, nil)
	for k := range qos2 {
		pk := s2.publish(t)
		if string(pk.Payload) != fmt.Sprint(k) {
			t.Fatalf("QoS 2 message %d is %q", k, pk.Payload)
		}
		s2.send(&packets.Ack{Kind: packets.PUBREC, PacketID: pk.PacketID})
	}
	// The will of the client connected at the crash.
	w := dialMQTT(t, a, "watch", false, nil)
	if pk := w.publish(t); string(pk.Topic) != "crash/will" || string(pk.Payload) != "doomed is gone" {
		t.Fatalf("got %s %q, want the will", pk.Topic, pk.Payload)
	}
	// The retained message.
	r := dialMQTT(t, a, "late", true, nil)
	r.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("crash/retained"), QoS: 1}}})
	r.want(packets.SUBACK)
	if pk := r.publish(t); string(pk.Payload) != "kept" || !pk.Retain {
		t.Fatalf("retained: got %q retain=%v", pk.Payload, pk.Retain)
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// buildMqttd builds the daemon once per test binary.
func buildMqttd(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build mqttd with")
	}
	buildOnce.Do(func() {
		dir, err := osMkdirTemp()
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "mqttd")
		if out, err := exec.Command(goBin, "build", "-o", builtBin, ".").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// mqttConn is the shared raw client (internal/mqtttest) with the crash
// tests' longer wait: the broker it talks to may be restarting.
type mqttConn struct{ *mqtttest.Conn }

// crashWait bounds each read and write of the crash tests.
const crashWait = 30 * time.Second

// dialMQTT connects with client id; extra, if not nil, supplies will fields.
func dialMQTT(t *testing.T, addr, id string, clean bool, extra *packets.Connect) *mqttConn {
	t.Helper()
	c := &mqttConn{mqtttest.Dial(t, addr)}
	c.Wait = crashWait
	p := packets.Connect{}
	if extra != nil {
		p = *extra
	}
	p.Version, p.ClientID, p.CleanStart, p.KeepAlive = packets.V311, []byte(id), clean, 60
	c.Connect(&p, packets.Success)
	return c
}

func (c *mqttConn) write(b []byte)                      { c.Write(b) }
func (c *mqttConn) send(p packets.Packet)               { c.Send(p) }
func (c *mqttConn) close()                              { _ = c.NC.Close() }
func (c *mqttConn) publish(*testing.T) *packets.Publish { return c.NextPublish() }

// expect reads the next packet and reports an error unless it is of type typ.
func (c *mqttConn) expect(typ packets.Type) error {
	p, err := c.TryNext(crashWait)
	if err != nil {
		return fmt.Errorf("waiting for %v: %w", typ, err)
	}
	if p.Type() != typ {
		return fmt.Errorf("got %v, want %v", p.Type(), typ)
	}
	return nil
}

func (c *mqttConn) want(typ packets.Type) {
	c.T.Helper()
	if err := c.expect(typ); err != nil {
		c.T.Fatal(err)
	}
}

func osMkdirTemp() (string, error) { return os.MkdirTemp("", "mqttd-test-") }

// TestCorruptBoltFileIsAClearError: a damaged database stops mqttd at start
// with an error that names the storage, not a panic.
func TestCorruptBoltFileIsAClearError(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon")
	}
	bin := buildMqttd(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "tern.db")
	writeFile(t, db, string(make([]byte, 8192))+"this is not a bolt database")
	conf := filepath.Join(dir, "tern.yaml")
	writeFile(t, conf, fmt.Sprintf("listeners:\n  - type: tcp\n    address: 127.0.0.1:0\nstorage:\n  type: bolt\n  bolt:\n    path: %s\n", db))
	out, err := exec.Command(bin, "-config", conf).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("err = %v, want exit status 1; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "storage.bolt") || strings.Contains(string(out), "panic") {
		t.Fatalf("unclear error:\n%s", out)
	}
}

// TestEtcdUnreachableIsAClearError: mqttd with an etcd nobody listens on
// stops within its dial timeout with an error naming the storage.
func TestEtcdUnreachableIsAClearError(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon")
	}
	bin := buildMqttd(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // a port with nobody behind it
	conf := filepath.Join(t.TempDir(), "tern.yaml")
	writeFile(t, conf, fmt.Sprintf("listeners:\n  - type: tcp\n    address: 127.0.0.1:0\nstorage:\n  type: etcd\n  etcd:\n    endpoints: [\"http://%s\"]\n    dial_timeout: 1s\n", addr))
	start := time.Now()
	out, err := exec.Command(bin, "-config", conf).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("err = %v, want exit status 1; output:\n%s", err, out)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v with a 1 s dial timeout", d)
	}
	if !strings.Contains(string(out), "storage.etcd") {
		t.Fatalf("unclear error:\n%s", out)
	}
}

// TestTwoBrokersShareSessionsOnEtcd: two mqttd processes on one etcd. A
// client's persistent session, made on broker A, with the messages queued
// for it there, is found on broker B after A stops.
func TestTwoBrokersShareSessionsOnEtcd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon")
	}
	endpoint := etcdtest.Start(t)
	bin := buildMqttd(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "tern.yaml")
	writeFile(t, conf, fmt.Sprintf("listeners:\n  - type: tcp\n    address: 127.0.0.1:0\nstorage:\n  type: etcd\n  etcd:\n    endpoints: [%q]\n    prefix: /shared/\n", endpoint))
	addrOf := func(p *process) string { return listenAddr(t, p) }
	a := start(t, bin, nil, "-config", conf)
	b := start(t, bin, nil, "-config", conf)
	addrA, addrB := addrOf(a), addrOf(b)

	c := dialMQTT(t, addrA, "roamer", false, nil)
	c.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte("roam/#"), QoS: 1}}})
	c.want(packets.SUBACK)
	c.send(&packets.Disconnect{})
	c.close()
	pub := dialMQTT(t, addrA, "pub", true, nil)
	for k := range 100 {
		pub.send(&packets.Publish{QoS: 1, PacketID: uint16(k + 1), Topic: []byte("roam/a"), Payload: []byte(fmt.Sprint(k))})
		pub.want(packets.PUBACK)
	}
	pub.close()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-a.done

	rc := &mqttConn{mqtttest.Dial(t, addrB)}
	rc.Wait = crashWait
	if ack := rc.Connect(&packets.Connect{Version: packets.V311, ClientID: []byte("roamer"), KeepAlive: 60}, packets.Success); !ack.SessionPresent {
		t.Fatal("session present = false on broker B")
	}
	for k := range 100 {
		p := rc.publish(t)
		if string(p.Payload) != fmt.Sprint(k) {
			t.Fatalf("message %d is %q", k, p.Payload)
		}
		rc.send(&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID})
	}
	// The subscription came along: B routes a new message to it.
	pb := dialMQTT(t, addrB, "pub-b", true, nil)
	pb.send(&packets.Publish{Topic: []byte("roam/b"), Payload: []byte("on B")})
	if p := rc.publish(t); string(p.Payload) != "on B" {
		t.Fatalf("got %q", p.Payload)
	}
}

// listenAddr waits for mqttd's listening line and returns its address.
func listenAddr(t *testing.T, p *process) string {
	t.Helper()
	var m []string
	waitFor(t, 10*time.Second, func() error {
		if m = listeningLine.FindStringSubmatch(p.stderr()); m == nil {
			return errors.New("no listening line; stderr:\n" + p.stderr())
		}
		return nil
	})
	return m[1]
}

// TestTakeoverAcrossBrokers: a client id connected to broker A and then to
// broker B (one etcd) is taken over: A closes its connection with
// DISCONNECT 0x8E [MQTT-3.1.4-3].
func TestTakeoverAcrossBrokers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the daemon")
	}
	endpoint := etcdtest.Start(t)
	bin := buildMqttd(t)
	conf := filepath.Join(t.TempDir(), "tern.yaml")
	writeFile(t, conf, fmt.Sprintf("listeners:\n  - type: tcp\n    address: 127.0.0.1:0\nstorage:\n  type: etcd\n  etcd:\n    endpoints: [%q]\n    prefix: /takeover/\n", endpoint))
	addrA := listenAddr(t, start(t, bin, nil, "-config", conf))
	addrB := listenAddr(t, start(t, bin, nil, "-config", conf))
	connect5 := func(addr string) (net.Conn, *packets.Reader) {
		nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = nc.Close() })
		r := packets.NewReader(nc, 0)
		out, _ := (&packets.Connect{Version: packets.V5, ClientID: []byte("twin"), CleanStart: true, KeepAlive: 60}).Append(nil, packets.V5)
		if _, err := nc.Write(out); err != nil {
			t.Fatal(err)
		}
		_ = nc.SetReadDeadline(time.Now().Add(10 * time.Second))
		if fh, _, err := r.Next(); err != nil || fh.Type != packets.CONNACK {
			t.Fatalf("CONNACK: %v %v", fh.Type, err)
		}
		return nc, r
	}
	ncA, rA := connect5(addrA)
	connect5(addrB)
	_ = ncA.SetReadDeadline(time.Now().Add(10 * time.Second))
	fh, body, err := rA.Next()
	if err != nil || fh.Type != packets.DISCONNECT {
		t.Fatalf("broker A sent %v (%v), want DISCONNECT", fh.Type, err)
	}
	var d packets.Disconnect
	if err := d.Decode(fh.Flags, body, packets.V5); err != nil || d.ReasonCode != packets.SessionTakenOver {
		t.Fatalf("DISCONNECT %v (%v), want 0x8E", d.ReasonCode, err)
	}
	if _, _, err := rA.Next(); err == nil {
		t.Fatal("broker A kept the connection open")
	}
}
