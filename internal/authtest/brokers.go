package authtest

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
)

// NeedTool returns the path of a command, skipping the test when it is
// missing; in CI (CI set) a missing tool fails the test, since make deps
// installs it.
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		for _, dir := range []string{"/usr/sbin", "/sbin"} {
			if _, serr := os.Stat(filepath.Join(dir, name)); serr == nil {
				return filepath.Join(dir, name)
			}
		}
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed (.ci/deps/auth.sh installs it): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// WaitFor polls cond every 5 ms until it returns nil, failing the test
// with cond's last error after timeout.
func WaitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Quiet is a logger that drops everything.
func Quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// StartTern runs a broker with opts on a random loopback port until the
// test ends and returns it with its address.
func StartTern(t testing.TB, opts ...broker.Option) (*broker.Broker, string) {
	t.Helper()
	l, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(append([]broker.Option{broker.WithListener(l), broker.WithLogger(Quiet())}, opts...)...)
	if err != nil {
		_ = l.Close()
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b, l.Addr().String()
}

// Mosquitto is a mosquitto process of the test's own.
type Mosquitto struct {
	Addr string
	cmd  *exec.Cmd
	log  *syncBuffer
	conf string
}

// StartMosquitto runs Debian's mosquitto (2.0.11) with the configuration
// lines conf (a listener on a random loopback port, persistence off and
// logging to stderr are added) until the test ends. It is stopped by its
// PID, never by name.
func StartMosquitto(t testing.TB, conf ...string) *Mosquitto {
	t.Helper()
	bin := NeedTool(t, "mosquitto")
	dir := t.TempDir()
	var lastErr error
	for range 5 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		m := &Mosquitto{Addr: fmt.Sprintf("127.0.0.1:%d", port), log: &syncBuffer{}, conf: filepath.Join(dir, "mosquitto.conf")}
		lines := append([]string{
			fmt.Sprintf("listener %d 127.0.0.1", port),
			"persistence false",
			"log_dest stderr",
			"log_type all",
			"sys_interval 0",
		}, conf...)
		if os.Getuid() == 0 {
			// As root, mosquitto drops to the user "mosquitto", which
			// cannot read the test's private temporary directory.
			lines = append(lines, "user root")
		}
		if err := os.WriteFile(m.conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		m.cmd = exec.Command(bin, "-c", m.conf)
		m.cmd.Stdout, m.cmd.Stderr = m.log, m.log
		if err := m.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- m.cmd.Wait() }()
		if err := m.waitListening(exited); err != nil {
			lastErr = err
			continue // most likely the port was taken meanwhile
		}
		t.Cleanup(func() {
			_ = m.cmd.Process.Kill()
			<-exited
			if t.Failed() {
				t.Logf("mosquitto log (last lines):\n%s", tail(m.log.String(), 60))
			}
		})
		return m
	}
	t.Fatalf("mosquitto did not start: %v", lastErr)
	return nil
}

// waitListening polls until the listener accepts a connection, or the
// process exits.
func (m *Mosquitto) waitListening(exited chan error) error {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("mosquitto exited: %v\n%s", err, m.log.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", m.Addr, 200*time.Millisecond); err == nil {
			_ = c.Close()
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	_ = m.cmd.Process.Kill()
	<-exited
	return fmt.Errorf("mosquitto not listening on %s after 10s:\n%s", m.Addr, m.log.String())
}

// Log returns what mosquitto has logged so far.
func (m *Mosquitto) Log() string { return m.log.String() }

// Reload sends SIGHUP, which makes mosquitto read its password and ACL
// files again.
func (m *Mosquitto) Reload() error { return m.cmd.Process.Signal(syscall.SIGHUP) }

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer collects a process's output for the test to read.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
