package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// TestSimpleRuns builds the example, runs it, connects with paho.golang
// and stops it with SIGTERM. It needs 127.0.0.1:1883, the README's
// address: it skips when something else holds that port.
func TestSimpleRuns(t *testing.T) {
	if ln, err := net.Listen("tcp", "127.0.0.1:1883"); err != nil {
		t.Skipf("127.0.0.1:1883 is in use: %v", err)
	} else {
		_ = ln.Close()
	}
	bin := filepath.Join(t.TempDir(), "simple")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	defer func() { _ = cmd.Process.Kill() }()
	var nc net.Conn
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if nc, err = net.Dial("tcp", "127.0.0.1:1883"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the example never listened")
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := paho.NewClient(paho.ClientConfig{Conn: nc})
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: "simple", CleanStart: true, KeepAlive: 30}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Publish(ctx, &paho.Publish{Topic: "t", QoS: 1, Payload: []byte("x")}); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no exit after SIGTERM")
	}
}
