package measure

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gws "github.com/gorilla/websocket"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/internal/testcerts"
	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/listeners/tcp"
	tlslistener "github.com/ternmq/broker/listeners/tls"
	"github.com/ternmq/broker/listeners/websocket"
)

// TestMain runs the broker side when the test binary is re-executed as a
// child (TERN_MEASURE_CHILD names the transport).
func TestMain(m *testing.M) {
	if kind := os.Getenv("TERN_MEASURE_CHILD"); kind != "" {
		if err := child(kind); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	// 100,000 connections need as many descriptors on each side: raise
	// the limit (root may raise the hard one too); the child inherits it.
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		want := max(lim.Cur, 1<<18)
		if syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: max(lim.Max, want)}) != nil {
			_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: lim.Max, Max: lim.Max})
		}
	}
	os.Exit(m.Run())
}

// child serves a broker with one listener of kind, prints "addr ADDR", then
// answers each "mem" line on stdin with "mem HEAP STACK GOROUTINES" after a
// full GC, until stdin ends.
func child(kind string) error {
	if os.Getenv("TERN_MEASURE_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 1 // every allocation, for a profile per connection
	}
	var (
		l   listeners.Listener
		err error
	)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	files := tlslistener.Files{Cert: os.Getenv("TERN_MEASURE_CERT"), Key: os.Getenv("TERN_MEASURE_KEY")}
	switch kind {
	case "tcp":
		l, err = tcp.New("tcp", "127.0.0.1:0")
	case "tls":
		l, err = tlslistener.NewFromFiles("tls", "127.0.0.1:0", files, tlslistener.WithLogger(quiet))
	case "ws":
		l, err = websocket.New("ws", "127.0.0.1:0", websocket.WithLogger(quiet))
	case "wss":
		var r *tlslistener.Reloader
		if r, err = tlslistener.NewReloader(files); err == nil {
			l, err = websocket.New("wss", "127.0.0.1:0", websocket.WithTLS(r.Config()), websocket.WithLogger(quiet))
		}
	default:
		err = fmt.Errorf("unknown kind %q", kind)
	}
	if err != nil {
		return err
	}
	b, err := broker.New(broker.WithListener(l), broker.WithLogger(quiet), broker.WithSysInterval(0))
	if err != nil {
		return err
	}
	if err := b.Start(context.Background()); err != nil {
		return err
	}
	defer b.Close()
	fmt.Printf("addr %s\n", l.Addr())
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if os.Getenv("TERN_MEASURE_MEMSTATS") != "" {
			var samples []metrics.Sample
			for _, d := range metrics.All() {
				if strings.HasPrefix(d.Name, "/memory/classes/") {
					samples = append(samples, metrics.Sample{Name: d.Name})
				}
			}
			metrics.Read(samples)
			for _, s := range samples {
				fmt.Fprintf(os.Stderr, "%s=%d ", s.Name, s.Value.Uint64())
			}
			fmt.Fprintln(os.Stderr)
			fmt.Fprintf(os.Stderr, "HeapAlloc %d HeapInuse %d HeapIdle %d HeapReleased %d StackInuse %d StackSys %d MSpanInuse %d OtherSys %d GCSys %d BuckHash %d MCache %d NextGC %d Sys %d\n",
				ms.HeapAlloc, ms.HeapInuse, ms.HeapIdle, ms.HeapReleased, ms.StackInuse, ms.StackSys, ms.MSpanInuse, ms.OtherSys, ms.GCSys, ms.BuckHashSys, ms.MCacheInuse, ms.NextGC, ms.Sys)
		}
		if f := os.Getenv("TERN_MEASURE_HEAPPROFILE"); f != "" {
			if w, err := os.Create(f); err == nil {
				_ = pprof.WriteHeapProfile(w)
				w.Close()
			}
		}
		fmt.Printf("mem %d %d %d %d %d %d\n", ms.HeapAlloc, ms.StackInuse, runtime.NumGoroutine(), ms.TotalAlloc, ms.Mallocs, procRSS(os.Getpid()))
	}
	return nil
}

// brokerProc is a child process serving one transport.
type brokerProc struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	addr string
}

func startChild(t *testing.T, kind string, env ...string) *brokerProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "TERN_MEASURE_CHILD="+kind), env...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &brokerProc{cmd: cmd, in: in, out: bufio.NewReader(out)}
	t.Cleanup(func() { in.Close(); _ = cmd.Wait() })
	line, err := p.out.ReadString('\n')
	if err != nil {
		t.Fatalf("child %s: %v", kind, err)
	}
	p.addr = strings.TrimSpace(strings.TrimPrefix(line, "addr "))
	return p
}

// memStats is what the child reports: live heap and stacks after a GC,
// goroutines, bytes and objects allocated since it started, resident
// memory.
type memStats struct {
	heap, stack, goroutines, allocated, mallocs, rss int64
}

// stats returns the child's memory figures after a GC.
func (p *brokerProc) stats(t *testing.T) memStats {
	t.Helper()
	if _, err := io.WriteString(p.in, "mem\n"); err != nil {
		t.Fatal(err)
	}
	line, err := p.out.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var m memStats
	f := strings.Fields(line)
	for i, v := range []*int64{&m.heap, &m.stack, &m.goroutines, &m.allocated, &m.mallocs, &m.rss} {
		*v, _ = strconv.ParseInt(f[i+1], 10, 64)
	}
	return m
}

// connectPacket is an MQTT 3.1.1 CONNECT: clean session, keep alive 60 s.
func connectPacket(id string) []byte {
	p := []byte{0x10, byte(12 + len(id)), 0, 4, 'M', 'Q', 'T', 'T', 4, 2, 0, 60, 0, byte(len(id))}
	return append(p, id...)
}

// dials counts connections made, to spread them over source addresses.
var dials atomic.Uint64

// dialer returns a dialer from one of eight loopback source addresses in
// turn: one address has fewer ephemeral ports than 100,000 connections need.
func dialer() *net.Dialer {
	ip := net.IPv4(127, 0, 0, byte(2+dials.Add(1)%8))
	return &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: ip}}
}

func dialStream(addr, id string, cfg *tls.Config) (io.Closer, error) {
	c, err := dialer().Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	if cfg != nil {
		c = tls.Client(c, cfg)
	}
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(connectPacket(id)); err != nil {
		c.Close()
		return nil, err
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		c.Close()
		return nil, fmt.Errorf("CONNACK % x: %v", ack, err)
	}
	_ = c.SetDeadline(time.Time{})
	return c, nil
}

func dialWS(url, id string, cfg *tls.Config) (io.Closer, error) {
	d := gws.Dialer{Subprotocols: []string{"mqtt"}, TLSClientConfig: cfg, HandshakeTimeout: 10 * time.Second, NetDial: dialer().Dial}
	c, _, err := d.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	if err := c.WriteMessage(gws.BinaryMessage, connectPacket(id)); err != nil {
		c.Close()
		return nil, err
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, p, err := c.ReadMessage(); err != nil || len(p) != 4 || p[0] != 0x20 {
		c.Close()
		return nil, fmt.Errorf("CONNACK % x: %v", p, err)
	}
	_ = c.SetReadDeadline(time.Time{})
	// Keep reading so that the client answers pings and sees a close.
	go func() {
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}()
	return c, nil
}

func needMeasure(t *testing.T) {
	if os.Getenv("TERN_MEASURE") == "" {
		t.Skip("a measurement, not a test: set TERN_MEASURE=1 to run it")
	}
}

// TestIdleMemoryPerConnection connects N idle MQTT clients to a broker in
// a child process over each transport and reports the broker's live heap
// plus goroutine stacks per connection.
func TestIdleMemoryPerConnection(t *testing.T) {
	needMeasure(t)
	n := 1000
	if s := os.Getenv("TERN_MEASURE_CONNS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "measure")
	cert, key := ca.Server(t).WriteFiles(t, dir, "server")
	env := []string{"TERN_MEASURE_CERT=" + cert, "TERN_MEASURE_KEY=" + key}
	clientCfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"}
	kinds := []struct {
		name string
		dial func(addr, id string) (io.Closer, error)
	}{
		{"tcp", func(a, id string) (io.Closer, error) { return dialStream(a, id, nil) }},
		{"tls", func(a, id string) (io.Closer, error) { return dialStream(a, id, clientCfg) }},
		{"ws", func(a, id string) (io.Closer, error) { return dialWS("ws://"+a+"/mqtt", id, nil) }},
		{"wss", func(a, id string) (io.Closer, error) { return dialWS("wss://"+a+"/mqtt", id, clientCfg) }},
	}
	var report strings.Builder
	fmt.Fprintf(&report, "idle broker memory per connection, %d connections (live heap after GC + goroutine stacks):\n", n)
	only := os.Getenv("TERN_MEASURE_KINDS") // "tcp,ws": only those
	for _, k := range kinds {
		if only != "" && !slices.Contains(strings.Split(only, ","), k.name) {
			continue
		}
		p := startChild(t, k.name, env...)
		dial := k.dial
		// One connection first, so that one-time costs (pools, the TLS
		// certificate, the HTTP server) are in the baseline.
		warm, err := dial(p.addr, "warm-up")
		if err != nil {
			t.Fatalf("%s: %v", k.name, err)
		}
		defer warm.Close()
		m0 := p.stats(t)
		conns := make([]io.Closer, n)
		var next atomic.Int64
		var wg sync.WaitGroup
		var dialErr atomic.Value
		for range 16 {
			wg.Go(func() {
				for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
					c, err := dial(p.addr, fmt.Sprintf("idle-%06d", i))
					if err != nil {
						dialErr.CompareAndSwap(nil, fmt.Errorf("%s connection %d: %w", k.name, i, err))
						return
					}
					conns[i] = c
				}
			})
		}
		wg.Wait()
		if err, _ := dialErr.Load().(error); err != nil {
			t.Fatal(err)
		}
		// Idle connections are parked after a second or two without a
		// packet (plain TCP): measure once they had the time.
		time.Sleep(2500 * time.Millisecond)
		m1 := p.stats(t)
		for _, c := range conns {
			c.Close()
		}
		per := func(a, b int64) float64 { return float64(b-a) / float64(n) }
		heap, stack := per(m0.heap, m1.heap), per(m0.stack, m1.stack)
		line := fmt.Sprintf("  %-4s %6.2f KiB  (heap %6.2f KiB, stacks %6.2f KiB, goroutines %.2f; RSS %6.2f KiB; allocated while connecting %6.2f KiB in %.0f objects)\n",
			k.name, (heap+stack)/1024, heap/1024, stack/1024, per(m0.goroutines, m1.goroutines),
			per(m0.rss, m1.rss)/1024, per(m0.allocated, m1.allocated)/1024, per(m0.mallocs, m1.mallocs))
		report.WriteString(line)
	}
	t.Log("\n" + report.String())
}

// TestTLSHandshakeRate compares how many TLS connections per second Tern's
// tls listener and Mosquitto's accept with the same certificate (ECDSA
// P-256): each is a fresh TCP connection, a full TLS handshake (no session
// resumption), MQTT CONNECT and CONNACK, then close. The clients share the
// machine with the broker, and the machine may be shared with others: the
// server's CPU time per connection is the steadier figure.
func TestTLSHandshakeRate(t *testing.T) {
	needMeasure(t)
	mosquitto, err := exec.LookPath("mosquitto")
	if err != nil {
		t.Skip("Debian's mosquitto is not installed (apt-get install mosquitto)")
	}
	dur := 3 * time.Second
	if s := os.Getenv("TERN_MEASURE_DURATION"); s != "" {
		dur, _ = time.ParseDuration(s)
	}
	workers := 4
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "measure")
	cert, key := ca.Server(t).WriteFiles(t, dir, "server")
	clientCfg := &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"}

	tern := startChild(t, "tls", "TERN_MEASURE_CERT="+cert, "TERN_MEASURE_KEY="+key)
	mosq := startMosquitto(t, mosquitto, dir, cert, key)
	servers := []struct {
		name, addr string
		pid        int
	}{{"tern", tern.addr, tern.cmd.Process.Pid}, {"mosquitto", mosq.addr, mosq.pid}}

	var report strings.Builder
	fmt.Fprintf(&report, "TLS connections (handshake + CONNECT/CONNACK), %d client goroutines, rounds of %v, alternating:\n", workers, dur)
	for round := range 2 {
		for _, b := range servers {
			var ok, failed atomic.Int64
			var version atomic.Uint32
			cpu0 := cpuTime(t, b.pid)
			deadline := time.Now().Add(dur)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := 0; time.Now().Before(deadline); i++ {
						c, err := dialStream(b.addr, fmt.Sprintf("h%d-%d", w, i), clientCfg)
						if err != nil {
							failed.Add(1)
							continue
						}
						version.Store(uint32(c.(*tls.Conn).ConnectionState().Version))
						c.Close()
						ok.Add(1)
					}
				})
			}
			wg.Wait()
			cpu := cpuTime(t, b.pid) - cpu0
			fmt.Fprintf(&report, "  round %d %-9s %5.0f/s, server CPU %.2f ms per connection (%d ok, %d failed, %s)\n",
				round+1, b.name, float64(ok.Load())/dur.Seconds(), float64(cpu.Microseconds())/1000/float64(max(ok.Load(), 1)),
				ok.Load(), failed.Load(), tls.VersionName(uint16(version.Load())))
		}
	}
	t.Log("\n" + report.String())
}

// mosquittoProc is a running mosquitto.
type mosquittoProc struct {
	addr string
	pid  int
}

// startMosquitto runs Debian's mosquitto with a TLS listener on a free
// port with the given certificate, or a plain one when cert is "".
func startMosquitto(t *testing.T, bin, dir, cert, key string) mosquittoProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)
	conf := filepath.Join(dir, "mosquitto.conf")
	// Run as ourselves: as root, mosquitto would switch to the user
	// "mosquitto", who cannot read the test's files. TCP_NODELAY as Tern
	// sets it: without it, Nagle and delayed ACKs make each CONNACK wait
	// about 40 ms, and the rate would measure that rather than TLS.
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	tlsConf := ""
	if cert != "" {
		tlsConf = fmt.Sprintf("certfile %s\nkeyfile %s\n", cert, key)
	}
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(
		"listener %s 127.0.0.1\n%sallow_anonymous true\nset_tcp_nodelay true\nuser %s\nlog_dest stderr\nlog_type error\npersistence false\nmax_queued_messages 1000\n",
		port, tlsConf, me.Username)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", conf)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return mosquittoProc{addr: addr, pid: cmd.Process.Pid}
		}
		if time.Now().After(deadline) {
			t.Fatalf("mosquitto did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cpuTime returns the user and system CPU time the process pid has used,
// from /proc/PID/stat (in clock ticks of 10 ms).
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// TestReconnectStorm: 10,000 clients with persistent sessions (MQTT 3.1.1,
// clean session 0, one QoS 1 subscription each) drop their connections and
// all reconnect at once, as after a network outage; reports how long until
// every one has its CONNACK (with Session Present) and the server's peak
// resident memory during the storm, for Tern and Mosquitto side by side.
func TestReconnectStorm(t *testing.T) {
	needMeasure(t)
	n := 10000
	if s := os.Getenv("TERN_MEASURE_CONNS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	servers := []struct {
		name, addr string
		pid        int
	}{}
	tern := startChild(t, "tcp")
	servers = append(servers, struct {
		name, addr string
		pid        int
	}{"tern", tern.addr, tern.cmd.Process.Pid})
	if bin, err := exec.LookPath("mosquitto"); err == nil {
		m := startMosquitto(t, bin, t.TempDir(), "", "")
		servers = append(servers, struct {
			name, addr string
			pid        int
		}{"mosquitto", m.addr, m.pid})
	}
	var report strings.Builder
	fmt.Fprintf(&report, "reconnect storm, %d persistent sessions reconnecting at once:\n", n)
	for _, s := range servers {
		// The sessions: connect, subscribe, drop the connection.
		if err := forEach(n, 16, func(i int) error {
			c, err := stormConnect(s.addr, i, false)
			if err != nil {
				return err
			}
			return c.Close()
		}); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		time.Sleep(500 * time.Millisecond) // the broker sees every close
		rss0 := procRSS(s.pid)
		peak := rss0
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
					peak = max(peak, procRSS(s.pid))
				}
			}
		}()
		conns := make([]io.Closer, n)
		start := time.Now()
		err := forEach(n, 1000, func(i int) error {
			c, err := stormConnect(s.addr, i, true)
			conns[i] = c
			return err
		})
		took := time.Since(start)
		close(stop)
		<-sampled
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		fmt.Fprintf(&report, "  %-9s all served in %v (%.0f conn/s), RSS %.1f MiB before, peak %.1f MiB (+%.2f KiB per client)\n",
			s.name, took.Round(time.Millisecond), float64(n)/took.Seconds(), float64(rss0)/(1<<20), float64(peak)/(1<<20), float64(peak-rss0)/1024/float64(n))
	}
	t.Log("\n" + report.String())
}

// forEach runs f for 0..n-1 on workers goroutines; the first error wins.
func forEach(n, workers int, f func(i int) error) error {
	var next atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					first.CompareAndSwap(nil, fmt.Errorf("client %d: %w", i, err))
					return
				}
			}
		})
	}
	wg.Wait()
	err, _ := first.Load().(error)
	return err
}

// stormConnect connects client i with clean session 0; the first time
// (resume false) it also subscribes, the second it checks Session Present.
func stormConnect(addr string, i int, resume bool) (io.Closer, error) {
	c, err := dialer().Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(60 * time.Second))
	p := connectPacket(fmt.Sprintf("storm-%06d", i))
	p[9] = 0 // clean session 0
	if _, err := c.Write(p); err != nil {
		c.Close()
		return nil, err
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 || (resume && ack[2] != 1) {
		c.Close()
		return nil, fmt.Errorf("CONNACK % x: %v", ack, err)
	}
	if !resume {
		topic := fmt.Sprintf("storm/%06d", i)
		sub := append([]byte{0x82, byte(5 + len(topic)), 0, 1, 0, byte(len(topic))}, topic...)
		if _, err := c.Write(append(sub, 1)); err != nil {
			c.Close()
			return nil, err
		}
		if _, err := io.ReadFull(c, make([]byte, 5)); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// procRSS returns the resident memory of process pid in bytes.
func procRSS(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}
