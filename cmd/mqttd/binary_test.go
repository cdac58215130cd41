//go:build unix

package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestBinary builds mqttd and runs it as its own process, as an operator
// would: it serves MQTT on the configured address, exits 0 on SIGTERM, and
// exits 2 with the key and line on a bad configuration.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildMqttd(t)
	dir := t.TempDir()

	t.Run("SIGTERM shuts down and exits 0", func(t *testing.T) {
		conf := filepath.Join(dir, "tern.yaml")
		// Port 0: the kernel picks a free port, and the log line says which.
		writeFile(t, conf, "listeners:\n  - type: tcp\n    address: ${TERN_TEST_HOST}:0\nlog:\n  level: info\n")
		p := start(t, bin, []string{"TERN_TEST_HOST=127.0.0.1"}, "-config", conf)

		var m []string
		waitFor(t, 10*time.Second, func() error {
			if m = listeningLine.FindStringSubmatch(p.stderr()); m == nil {
				return errors.New("no listening line; stderr:\n" + p.stderr())
			}
			return nil
		})
		if m[4] != conf {
			t.Errorf("config=%s, want %s", m[4], conf)
		}
		c := handshake(t, m[1])

		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("still running 5 s after SIGTERM; stderr:\n%s", p.stderr())
		}
		if code := p.cmd.ProcessState.ExitCode(); code != 0 {
			t.Errorf("exit status %d, want 0; stderr:\n%s", code, p.stderr())
		}
		// The broker closed the client's connection on its way out.
		if _, err := c.Read(make([]byte, 1)); err == nil {
			t.Error("client connection still open after shutdown")
		}
	})

	t.Run("bad configuration exits 2", func(t *testing.T) {
		conf := filepath.Join(dir, "bad.yaml")
		writeFile(t, conf, "log:\n  level: info\n  colour: true\n")
		out, err := exec.Command(bin, "-config", conf).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 2 {
			t.Fatalf("err = %v, want exit status 2; output:\n%s", err, out)
		}
		if want := conf + `: line 3: unknown key "colour" in log`; !strings.Contains(string(out), want) {
			t.Errorf("output\n%s\ndoes not contain %q", out, want)
		}
	})
}

// process is a running mqttd.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and stderr is read

	mu  sync.Mutex
	err strings.Builder
}

func (p *process) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err.String()
}

// start runs bin with args and extra environment, collecting its stderr;
// the process is killed at the end of the test if it still runs.
func start(t *testing.T, bin string, env []string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), env...)
	r, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		s := bufio.NewScanner(r)
		for s.Scan() {
			p.mu.Lock()
			p.err.WriteString(s.Text() + "\n")
			p.mu.Unlock()
		}
		_, _ = io.Copy(io.Discard, r)
		_ = p.cmd.Wait()
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
