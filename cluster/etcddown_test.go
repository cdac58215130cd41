package cluster

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

func TestEtcdUnavailable(t *testing.T) {
	// Without etcd the nodes keep routing with the routes they know, a
	// subscription to a new filter is refused with a reason code within
	// the etcd timeout instead of hanging, and everything works again
	// once etcd is back.
	// Debian's etcd-server in a process of its own, to kill and restart.
	bin, err := exec.LookPath("etcd")
	if err != nil {
		t.Skip("etcd not installed (.ci/deps/base.sh installs etcd-server)")
	}
	addr, peer := freeAddr(t), freeAddr(t)
	dir := t.TempDir()
	e := startEtcdProcess(t, bin, dir, addr, peer)
	tc := &testCluster{t: t, prefix: "/down/", ttl: 2 * time.Second, endpnts: []string{"http://" + addr}, etcdTO: time.Second}
	tc.start("n0")
	tc.start("n1")
	tc.waitMesh()
	sub, _ := dial(t, tc.nodes[1].addr, "sub", nil)
	sub.subscribe("u/a", 1)
	pub, _ := dial(t, tc.nodes[0].addr, "pub", nil)

	e.kill()
	pub.publish("u/a", "while etcd is down", 1, false)
	sub.waitFor(1)

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	sa, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "u/new", QoS: 1}}})
	cancel()
	if sa == nil { // paho reports a refusal as an error, with the SUBACK
		t.Fatal(err)
	}
	if sa.Reasons[0] != 0x83 {
		t.Fatalf("subscription without etcd: reason %#x, want 0x83", sa.Reasons[0])
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the refusal took %v", d)
	}

	e = startEtcdProcess(t, bin, dir, addr, peer)
	checkFor(t, 20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		sa, err := sub.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "u/back", QoS: 1}}})
		if sa == nil {
			return err
		}
		if sa.Reasons[0] >= 0x80 {
			return fmt.Errorf("still refused: %#x", sa.Reasons[0])
		}
		return nil
	})
	// The routes are back in etcd under a live lease: the nodes see each
	// other and the new route.
	tc.waitMesh()
	checkFor(t, 10*time.Second, func() error {
		if n := tc.nodes[0].n.Stats().RoutesTotal; n < 2 {
			return fmt.Errorf("node 0 knows %d routes, want u/a and u/back", n)
		}
		return nil
	})
	pub.publish("u/back", "end", 1, false)
	sub.until("u/back", "end")
}

// etcdProcess is an etcd server in a process of its own.
type etcdProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startEtcdProcess starts etcd on the client address addr and waits until
// it answers; it is killed when the test ends.
func startEtcdProcess(t *testing.T, bin, dir, addr, peer string) *etcdProcess {
	t.Helper()
	cmd := exec.Command(bin, "--name", "t", "--data-dir", dir,
		"--listen-client-urls", "http://"+addr, "--advertise-client-urls", "http://"+addr,
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "t=http://"+peer, "--heartbeat-interval", "10", "--election-timeout", "100")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &etcdProcess{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.kill)
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://" + addr}, DialTimeout: time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	checkFor(t, 20*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_, err := cli.Get(ctx, "health")
		return err
	})
	return p
}

// kill sends SIGKILL and waits for the process to end.
func (p *etcdProcess) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
