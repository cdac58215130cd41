package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/internal/gcfloor"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/storage/etcd"
	"golang.org/x/sys/unix"
)

// TestServeForMqttbench serves MQTT on TERN_CLUSTER_ADDR until SIGTERM, for
// ../shared/mqttbench: TERN_CLUSTER_SERVE nodes of one cluster on the
// embedded etcd, their listeners on that one address with SO_REUSEPORT, so
// that the kernel spreads the benchmark's connections over the nodes; 0
// serves one broker without the cluster. Skipped unless both are set.
//
//	go test -c -o /tmp/cluster.test ./cluster
//	B='three=exec env TERN_CLUSTER_SERVE=3 TERN_CLUSTER_ADDR=127.0.0.1:{port} /tmp/cluster.test -test.run TestServeForMqttbench -test.timeout 0'
//	../shared/mqttbench/compare.sh --no-peers --broker "$B" --broker 'one=...=1...' --broker 'plain=...=0...'
func TestServeForMqttbench(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("TERN_CLUSTER_SERVE"))
	addr := os.Getenv("TERN_CLUSTER_ADDR")
	if err != nil || addr == "" {
		t.Skip("set TERN_CLUSTER_SERVE and TERN_CLUSTER_ADDR to serve")
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) })
		if err != nil {
			return err
		}
		return serr
	}}
	ctx := context.Background()
	if os.Getenv("GOGC") == "" {
		go gcfloor.Run(ctx, gcfloor.DefaultConfig(), 100) // as mqttd does
	}
	prefix := fmt.Sprintf("/serve/%d/", time.Now().UnixNano())
	log := slog.New(slog.DiscardHandler)
	var brokers []*broker.Broker
	var nodes []*Node
	for i := range max(n, 1) {
		opts := []broker.Option{broker.WithLogger(log)}
		var node *Node
		if n > 0 {
			store, err := etcd.New(ctx, etcd.Config{Endpoints: []string{endpoint}, Prefix: prefix})
			if err != nil {
				t.Fatal(err)
			}
			node, err = New(Config{NodeID: fmt.Sprint("n", i), LinkAddress: "127.0.0.1:0", Endpoints: []string{endpoint},
				Prefix: prefix + "cluster/", StoragePrefix: prefix, Logger: log})
			if err != nil {
				t.Fatal(err)
			}
			opts = append(opts, broker.WithStorage(store), broker.WithHooks(node))
		}
		b, err := broker.New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		if node != nil {
			if err := node.Start(ctx, b); err != nil {
				t.Fatal(err)
			}
			nodes = append(nodes, node)
		}
		if err := b.Start(ctx); err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		brokers = append(brokers, b)
	}
	// Every link up before the first client comes.
	checkFor(t, 20*time.Second, func() error {
		for _, node := range nodes {
			ps := node.allPeers()
			if len(ps) != len(nodes)-1 {
				return fmt.Errorf("%d peers", len(ps))
			}
			for _, p := range ps {
				if !p.isUp() {
					return fmt.Errorf("link to %s down", p.m.ID)
				}
			}
		}
		return nil
	})
	for _, b := range brokers {
		ln, err := lc.Listen(ctx, "tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		l := tcp.Wrap("tcp", ln)
		defer l.Close()
		go func() { _ = l.Serve(b) }()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	<-sig
}
