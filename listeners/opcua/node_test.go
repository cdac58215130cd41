package opcua

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// pkiDir holds the certificates node-opcua creates, shared by the tests
// of one run (creating them takes a second or two).
var pkiDir string

func TestMain(m *testing.M) {
	// gopcua's server prints its progress through the standard logger.
	log.SetOutput(io.Discard)
	dir, err := os.MkdirTemp("", "tern-opcua-pki-")
	if err != nil {
		panic(err)
	}
	pkiDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// nodeDir is where package.json and node_modules are.
const nodeDir = "testdata/node"

// needNode skips when node or the npm packages are missing (make deps
// installs them); in CI (CI=true) that is a failure.
func needNode(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(nodeDir, "node_modules", "node-opcua"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node-opcua not installed (make deps): %v", err)
		}
		t.Skipf("node-opcua not installed (make deps): %v", err)
	}
	return bin
}

// nodeProc is a node-opcua script speaking JSON lines on stdin/stdout.
type nodeProc struct {
	t       testing.TB
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	replies chan map[string]any
	events  chan map[string]any
	exited  chan struct{}

	mu     sync.Mutex
	nextID int
	stderr []byte
}

// startNode runs testdata/node/<script> with args; it is killed when the
// test ends.
func startNode(t testing.TB, bin, script string, args ...string) *nodeProc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{script}, args...)...)
	cmd.Dir = nodeDir
	cmd.Env = append(os.Environ(), "OPCUA_PKI="+pkiDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &nodeProc{t: t, cmd: cmd, stdin: stdin, replies: make(chan map[string]any, 100), events: make(chan map[string]any, 100000), exited: make(chan struct{})}
	var wg sync.WaitGroup
	wg.Go(func() {
		b, _ := io.ReadAll(stderr)
		p.mu.Lock()
		p.stderr = b
		p.mu.Unlock()
	})
	wg.Go(func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				continue // node-opcua's own chatter
			}
			if _, ok := m["id"]; ok {
				p.replies <- m
			} else {
				p.events <- m
			}
		}
	})
	go func() {
		wg.Wait()
		_ = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.kill)
	return p
}

// kill ends the process group and waits for the process.
func (p *nodeProc) kill() {
	if p.cmd.Process != nil {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	}
	<-p.exited
}

// stderrText is what the script wrote to stderr (once it has exited).
func (p *nodeProc) stderrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.stderr)
}

// call sends a command and waits for its reply.
func (p *nodeProc) call(cmd map[string]any, timeout time.Duration) map[string]any {
	p.t.Helper()
	p.mu.Lock()
	p.nextID++
	id := p.nextID
	p.mu.Unlock()
	cmd["id"] = id
	b, _ := json.Marshal(cmd)
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("node: %v", err)
	}
	deadline := time.After(timeout)
	for {
		select {
		case r := <-p.replies:
			if int(r["id"].(float64)) != id {
				continue
			}
			if e, ok := r["error"]; ok {
				p.t.Fatalf("node %v: %v", cmd["cmd"], e)
			}
			return r
		case <-p.exited:
			p.t.Fatalf("node exited during %v: %s", cmd["cmd"], p.stderrText())
		case <-deadline:
			p.t.Fatalf("node: no reply to %s within %v", b, timeout)
		}
	}
}

// event waits for an event matching pred.
func (p *nodeProc) event(timeout time.Duration, pred func(map[string]any) bool) map[string]any {
	p.t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case e := <-p.events:
			if e["event"] == "fatal" {
				p.t.Fatalf("node: %v", e["error"])
			}
			if pred(e) {
				return e
			}
		case <-p.exited:
			p.t.Fatalf("node exited: %s", p.stderrText())
		case <-deadline:
			p.t.Fatalf("node: no matching event within %v", timeout)
		}
	}
}

// isEvent matches events named name.
func isEvent(name string) func(map[string]any) bool {
	return func(e map[string]any) bool { return e["event"] == name }
}

// str formats a JSON value for comparisons.
func str(v any) string { return fmt.Sprint(v) }
