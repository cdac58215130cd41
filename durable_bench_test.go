package broker_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"testing"
	"time"

	"github.com/ternmq/broker/internal/benchtest"
	"github.com/ternmq/broker/storage/bolt"
	"github.com/ternmq/broker/storage/memory"
)

// BenchmarkDurableQoS1 measures QoS 1 throughput to a persistent subscriber
// per backend (storage/etcd has its own, with an embedded etcd).
func BenchmarkDurableQoS1(b *testing.B) {
	b.Run("memory", func(b *testing.B) { benchtest.DurableQoS1(b, memory.New()) })
	for _, m := range []struct {
		name string
		mode bolt.SyncMode
	}{{"bolt-none", bolt.SyncNone}, {"bolt-batch", bolt.SyncBatch}, {"bolt-always", bolt.SyncAlways}} {
		b.Run(m.name, func(b *testing.B) {
			st, err := bolt.Open(filepath.Join(b.TempDir(), "tern.db"), bolt.WithSync(m.mode))
			if err != nil {
				b.Fatal(err)
			}
			benchtest.DurableQoS1(b, st)
		})
	}
}

// BenchmarkDurableQoS1Mosquitto runs the same load against Debian's
// Mosquitto with persistence in its most careful setting (the in-memory
// database written after every change and at most every second), for a
// table beside Tern's backends. Mosquitto writes its whole database on
// each save: what it promises is less than bolt's "always" (a crash loses
// what came since the last save).
func BenchmarkDurableQoS1Mosquitto(b *testing.B) {
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		b.Skip("Debian's mosquitto is not installed")
	}
	for _, m := range []struct{ name, conf string }{
		{"no-persistence", "persistence false\n"},
		{"autosave-on-changes", "persistence true\nautosave_on_changes true\nautosave_interval 1\n"},
	} {
		b.Run(m.name, func(b *testing.B) {
			dir := b.TempDir()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			_, port, _ := net.SplitHostPort(addr)
			me, err := user.Current()
			if err != nil {
				b.Fatal(err)
			}
			conf := filepath.Join(dir, "mosquitto.conf")
			if err := os.WriteFile(conf, fmt.Appendf(nil, "listener %s 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nuser %s\nlog_dest none\nmax_queued_messages 100000\npersistence_location %s/\n%s",
				port, me.Username, dir, m.conf), 0o600); err != nil {
				b.Fatal(err)
			}
			cmd := exec.Command(bin, "-c", conf)
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			for deadline := time.Now().Add(10 * time.Second); ; {
				c, err := net.Dial("tcp", addr)
				if err == nil {
					c.Close()
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("mosquitto did not listen: %v", err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			benchtest.DurableQoS1At(b, addr)
		})
	}
}
