//go:build unix

package main

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// TestClusterNodeKilledMidStream runs three mqttd nodes of one cluster on
// Debian's etcd-server (each in a process of its own) and SIGKILLs the
// subscriber's node while a publisher on another node sends QoS 1
// messages (MQTT 5, resending what is refused). The subscriber resumes its
// session on a third node: every message the publisher got a PUBACK for
// is delivered. The dead node's lease expires and its routes go; started
// again, it rejoins and routes.
func TestClusterNodeKilledMidStream(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the daemon")
	}
	etcdBin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd not installed (.ci/deps/base.sh installs etcd-server)")
	}
	endpoint := startEtcdServer(t, etcdBin)
	bin := buildMqttd(t)
	dir := t.TempDir()
	const prefix = "/kill/"
	conf := func(id string) string {
		p := filepath.Join(dir, id+".yaml")
		writeFile(t, p, fmt.Sprintf(`listeners: [{type: tcp, address: "127.0.0.1:0"}]
storage: {type: etcd, etcd: {endpoints: [%q], prefix: %s}}
cluster: {enabled: true, node_id: %s, link_address: "127.0.0.1:0", lease_ttl: 3s}
`, endpoint, prefix, id))
		return p
	}
	nodes := map[string]*process{}
	addrs := map[string]string{}
	for _, id := range []string{"a", "b", "c"} {
		nodes[id] = start(t, bin, nil, "-config", conf(id))
		addrs[id] = listenAddr(t, nodes[id])
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	count := func(key string) int {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		r, err := cli.Get(ctx, prefix+"cluster/"+key, clientv3.WithPrefix(), clientv3.WithCountOnly())
		if err != nil {
			t.Fatal(err)
		}
		return int(r.Count)
	}
	waitFor(t, 10*time.Second, func() error {
		if n := count("nodes/"); n != 3 {
			return fmt.Errorf("%d members", n)
		}
		return nil
	})

	var mu sync.Mutex
	got := map[int]int{} // message number -> deliveries
	record := func(p *paho.Publish) {
		if n, err := strconv.Atoi(string(p.Payload)); err == nil {
			mu.Lock()
			got[n]++
			mu.Unlock()
		}
	}
	persistent := &paho.Connect{CleanStart: false, Properties: &paho.ConnectProperties{SessionExpiryInterval: paho.Uint32(300)}}
	sub := dialPaho(t, addrs["c"], "sub", persistent, record)
	subscribe(t, sub, "kill/#")
	pub := dialPaho(t, addrs["a"], "pub", &paho.Connect{CleanStart: true}, nil)

	const total = 600
	refused := 0
	for n := 0; n < total; n++ {
		if n == total/3 {
			if err := nodes["c"].cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-nodes["c"].done
			sub = dialPaho(t, addrs["b"], "sub", persistent, record)
		}
		for attempt := 0; ; attempt++ {
			if attempt > 500 {
				t.Fatalf("message %d refused %d times", n, attempt)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			resp, err := pub.Publish(ctx, &paho.Publish{Topic: "kill/t", QoS: 1, Payload: []byte(strconv.Itoa(n))})
			cancel()
			if err == nil && (resp == nil || resp.ReasonCode < 0x80) {
				break
			}
			refused++
			time.Sleep(20 * time.Millisecond) // a publisher's retry pace, not a wait for an event
		}
	}
	waitFor(t, 20*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		for n := range total {
			if got[n] == 0 {
				return fmt.Errorf("message %d of %d acknowledged and not delivered (%d distinct delivered)", n, total, len(got))
			}
		}
		return nil
	})
	dups := 0
	mu.Lock()
	for _, k := range got {
		dups += k - 1
	}
	mu.Unlock()
	t.Logf("%d messages acknowledged and delivered; %d publishes refused and resent; %d duplicates", total, refused, dups)

	// The dead node's lease expired: no member key, no route.
	waitFor(t, 10*time.Second, func() error {
		if n, r := count("nodes/c"), count("routes/c/"); n+r != 0 {
			return fmt.Errorf("node c: %d member keys, %d routes", n, r)
		}
		return nil
	})
	// Restarted, it rejoins: a subscriber there gets a message from node a.
	nodes["c"] = start(t, bin, nil, "-config", conf("c"))
	addrs["c"] = listenAddr(t, nodes["c"])
	var once sync.Once
	arrived := make(chan struct{})
	back := dialPaho(t, addrs["c"], "back", &paho.Connect{CleanStart: true}, func(*paho.Publish) { once.Do(func() { close(arrived) }) })
	subscribe(t, back, "rejoin")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := pub.Publish(ctx, &paho.Publish{Topic: "rejoin", QoS: 1, Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-arrived:
	case <-time.After(10 * time.Second):
		t.Fatal("the restarted node does not get messages from the others")
	}
}

func dialPaho(t *testing.T, addr, id string, cp *paho.Connect, fn func(*paho.Publish)) *paho.Client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	cfg := paho.ClientConfig{ClientID: id, Conn: nc}
	if fn != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){func(r paho.PublishReceived) (bool, error) {
			fn(r.Packet)
			return true, nil
		}}
	}
	c := paho.NewClient(cfg)
	c2 := *cp
	c2.ClientID, c2.KeepAlive = id, 30
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &c2); err != nil {
		t.Fatalf("connect %s to %s: %v", id, addr, err)
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

func subscribe(t *testing.T, c *paho.Client, filter string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}}); err != nil {
		t.Fatal(err)
	}
}

// startEtcdServer runs Debian's etcd in a process of its own, killed when
// the test ends, and returns its client URL.
func startEtcdServer(t *testing.T, bin string) string {
	t.Helper()
	free := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	client, peer := "http://"+free(), "http://"+free()
	cmd := exec.Command(bin, "--name", "t", "--data-dir", t.TempDir(),
		"--listen-client-urls", client, "--advertise-client-urls", client,
		"--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
		"--initial-cluster", "t="+peer, "--heartbeat-interval", "10", "--election-timeout", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	waitFor(t, 20*time.Second, func() error {
		nc, err := net.DialTimeout("tcp", strings.TrimPrefix(client, "http://"), time.Second)
		if err == nil {
			_ = nc.Close()
		}
		return err
	})
	return client
}
