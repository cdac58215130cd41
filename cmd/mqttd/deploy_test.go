//go:build unix

package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/broker/cmd/mqttd/internal/config"
)

// TestCheckConfig: -check-config validates a file and exits without
// starting anything: 0 and a line on stdout for a valid file (warnings on
// stderr), 2 and every problem with its line for an invalid one.
func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		writeFile(t, p, content)
		return p
	}
	valid := write("valid.yaml", "listeners:\n  - {type: tcp, address: \"127.0.0.1:1\"}\n")
	warned := write("warned.yaml", "store:\n  type: memory\n  etcd: {endpoints: [localhost:2379]}\n")
	invalid := write("invalid.yaml", "limits:\n  connect_timeout: 10\n  colour: red\n")
	tests := []struct {
		name   string
		file   string
		code   int
		stdout string
		stderr []string
	}{
		{"valid", valid, 0, valid + ": configuration is valid\n", nil},
		{"valid with a warning", warned, 0, warned + ": configuration is valid\n", []string{`mqttd: warning: ` + warned + `: line 3: store.etcd: ignored: store.type is "memory"`}},
		{"invalid", invalid, 2, "", []string{invalid + ": line 3: unknown key \"colour\" in limits", invalid + ": line 2: limits.connect_timeout: invalid duration"}},
		{"missing", filepath.Join(dir, "nope.yaml"), 2, "", []string{"no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := mainExit([]string{"-check-config", tt.file}, &stdout, &stderr); code != tt.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if stdout.String() != tt.stdout {
				t.Errorf("stdout %q, want %q", stdout.String(), tt.stdout)
			}
			for _, w := range tt.stderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr\n%s\ndoes not contain %q", stderr.String(), w)
				}
			}
		})
	}
}

// TestDeployConfigIsValid: deploy/mqttd.yaml, the documented production
// configuration, passes -check-config without warnings.
func TestDeployConfigIsValid(t *testing.T) {
	path := filepath.Join("..", "..", "deploy", "mqttd.yaml")
	var stdout, stderr bytes.Buffer
	if code := mainExit([]string{"-check-config", path}, &stdout, &stderr); code != 0 || stderr.Len() > 0 {
		t.Fatalf("-check-config %s: exit %d\n%s", path, code, stderr.String())
	}
}

// TestDeployUnit: deploy/mqttd.service runs the deployed configuration
// sandboxed, gives mqttd more time to stop than its shutdown_timeout, and
// is a unit systemd accepts (systemd-analyze verify, when installed).
func TestDeployUnit(t *testing.T) {
	unitPath := filepath.Join("..", "..", "deploy", "mqttd.service")
	data, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]string{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		line := strings.TrimSpace(s.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			keys[k] = append(keys[k], v)
		}
	}
	for _, kv := range []string{
		"DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=tern", "NoNewPrivileges=yes",
		"ExecStart=/usr/local/bin/mqttd -config /etc/tern/mqttd.yaml",
		"ExecStartPre=/usr/local/bin/mqttd -check-config /etc/tern/mqttd.yaml",
		"ExecReload=/bin/kill -HUP $MAINPID", "KillSignal=SIGTERM",
	} {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.Contains(strings.Join(keys[k], "\n"), v) {
			t.Errorf("unit lacks %s (has %q)", kv, keys[k])
		}
	}
	cfg, err := config.Load(filepath.Join("..", "..", "deploy", "mqttd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	stop, err := time.ParseDuration(strings.Join(keys["TimeoutStopSec"], ""))
	if err != nil || stop <= cfg.ShutdownTimeout {
		t.Errorf("TimeoutStopSec %v (%v) must exceed shutdown_timeout %v: systemd would SIGKILL a graceful shutdown", stop, err, cfg.ShutdownTimeout)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil || testing.Short() {
		t.Skip("systemd-analyze not installed, or -short")
	}
	// verify wants the binaries the unit names to exist.
	bin := buildMqttd(t)
	unit := filepath.Join(t.TempDir(), "mqttd.service")
	writeFile(t, unit, strings.ReplaceAll(string(data), "/usr/local/bin/mqttd", bin))
	out, err := exec.Command(analyze, "verify", "--man=no", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
