package coap_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/plgd-dev/go-coap/v3/options"
	"github.com/plgd-dev/go-coap/v3/udp"
	udpclient "github.com/plgd-dev/go-coap/v3/udp/client"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/coap"
	"github.com/ternmq/broker/listeners/tcp"
)

// env is a broker serving CoAP and MQTT over TCP on random ports.
type env struct {
	b        *broker.Broker
	l        *coap.Listener
	coapAddr string
	tcpAddr  string
}

// start runs a broker with a CoAP listener (copts) and a TCP listener; it
// is closed, and no goroutine of the listener or of go-coap may be left,
// when the test ends.
func start(t *testing.T, bopts []broker.Option, copts ...coap.Option) *env {
	t.Helper()
	noLeaks(t)
	copts = append([]coap.Option{coap.WithLogger(quiet)}, copts...)
	l, err := coap.New("coap", "127.0.0.1:0", copts...)
	if err != nil {
		t.Fatal(err)
	}
	tl, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bopts = append([]broker.Option{broker.WithLogger(quiet), broker.WithListener(l), broker.WithListener(tl)}, bopts...)
	b, err := broker.New(bopts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("broker close: %v", err)
		}
	})
	return &env{b: b, l: l, coapAddr: l.Addr().String(), tcpAddr: tl.Addr().String()}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// noLeaks fails the test if goroutines of this listener or of go-coap are
// still running once every other cleanup has run.
func noLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() {
		checkFor(t, 10*time.Second, func() error {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			for _, g := range strings.Split(string(buf), "\n\n") {
				if strings.Contains(g, "plgd-dev/go-coap") || strings.Contains(g, "pion/dtls") || strings.Contains(g, "listeners/coap.") {
					if strings.Contains(g, "coap_test.") && !strings.Contains(g, "listeners/coap.(*") {
						continue // the test itself
					}
					return fmt.Errorf("goroutine left:\n%s", g)
				}
			}
			return nil
		})
	})
}

// checkFor polls cond until it returns nil or timeout passes.
func checkFor(t *testing.T, timeout time.Duration, cond func() error) {
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
		time.Sleep(10 * time.Millisecond)
	}
}

// dial connects a go-coap client over UDP.
func dial(t *testing.T, addr string, opts ...udp.Option) *udpclient.Conn {
	t.Helper()
	return dialWith(t, func(opts ...udp.Option) (*udpclient.Conn, error) { return udp.Dial(addr, opts...) }, opts...)
}

// dialWith connects a go-coap client with dialer; its periodic runner
// (go-coap's default one sleeps 4 s and outlives the connection) ends
// with the test.
func dialWith(t *testing.T, dialer func(...udp.Option) (*udpclient.Conn, error), opts ...udp.Option) *udpclient.Conn {
	t.Helper()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	runner := options.WithPeriodicRunner(func(f func(time.Time) bool) {
		wg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case now := <-tick.C:
					if !f(now) {
						return
					}
				}
			}
		})
	})
	opts = append([]udp.Option{runner, options.WithErrors(func(error) {})}, opts...)
	co, err := dialer(opts...)
	if err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = co.Close()
		select {
		case <-co.Done():
		case <-time.After(5 * time.Second):
			t.Error("go-coap client did not stop")
		}
		close(stop)
		wg.Wait()
	})
	return co
}

// ctx10 is a context that ends after ten seconds or with the test.
func ctx10(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// coapClient returns Debian's coap-client (libcoap3-bin ships it as
// coap-client-notls, -openssl and -gnutls). It skips the test when none is
// installed, except in CI (CI set), where .ci/deps/coap.sh installs it.
func coapClient(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"coap-client-notls", "coap-client", "coap-client-openssl", "coap-client-gnutls"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("coap-client not installed (.ci/deps/coap.sh installs libcoap3-bin)")
	}
	t.Skip("coap-client not installed (apt-get install libcoap3-bin)")
	return ""
}

// runCoapClient runs coap-client with args and returns its standard output
// and standard error (where it reports error responses, as "4.04 ...").
func runCoapClient(t *testing.T, bin string, args ...string) (stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("coap-client %s: %v; stderr: %s", strings.Join(args, " "), err, errOut.String())
	}
	return out.String(), errOut.String()
}

// coapObserve is a coap-client process observing a resource, its
// standard output line-buffered (stdbuf) so that the test sees each
// notification as it is printed.
type coapObserve struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
	out  strings.Builder
}

func startCoapObserve(t *testing.T, bin string, args ...string) *coapObserve {
	t.Helper()
	stdbuf, err := exec.LookPath("stdbuf")
	if err != nil {
		t.Fatal("stdbuf (coreutils) not found")
	}
	o := &coapObserve{cmd: exec.Command(stdbuf, append([]string{"-oL", bin}, args...)...), done: make(chan struct{})}
	r, err := o.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := o.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(o.done)
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			o.mu.Lock()
			o.out.Write(buf[:n])
			o.mu.Unlock()
			if err != nil {
				_ = o.cmd.Wait()
				return
			}
		}
	}()
	t.Cleanup(func() {
		_ = o.cmd.Process.Kill()
		<-o.done
	})
	return o
}

func (o *coapObserve) output() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.out.String()
}

// waitOutput waits until coap-client has printed want.
func (o *coapObserve) waitOutput(t *testing.T, want string) {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		if out := o.output(); !strings.Contains(out, want) {
			return errorf("coap-client printed %.200q, waiting for %.100q", out, want)
		}
		return nil
	})
}

// stop interrupts coap-client (SIGINT: it exits cleanly) and returns
// what it printed.
func (o *coapObserve) stop(t *testing.T) string {
	t.Helper()
	_ = o.cmd.Process.Signal(os.Interrupt)
	select {
	case <-o.done:
	case <-time.After(10 * time.Second):
		t.Fatal("coap-client did not exit on SIGINT")
	}
	return o.output()
}

// collector gathers the messages of an in-process subscription.
type collector struct {
	mu   sync.Mutex
	msgs []*broker.Message
}

func (c *collector) add(m *broker.Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

func (c *collector) wait(t *testing.T, n int) []*broker.Message {
	t.Helper()
	checkFor(t, 10*time.Second, func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.msgs) < n {
			return fmt.Errorf("%d messages, want %d", len(c.msgs), n)
		}
		return nil
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*broker.Message(nil), c.msgs...)
}

func subscribe(t *testing.T, b *broker.Broker, filter string) *collector {
	t.Helper()
	c := &collector{}
	cancel, err := b.Subscribe(filter, 2, c.add)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cancel)
	return c
}

var errorf = fmt.Errorf

var _ = errors.New
