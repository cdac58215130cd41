package httpbridge_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// curlPath finds Debian's curl (.ci/deps/http.sh installs it).
func curlPath(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed (make deps installs it)")
	}
	return p
}

// curl runs curl with args and returns its standard output.
func curl(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, curlPath(t), append([]string{"-sS"}, args...)...).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("curl %q: %v\n%s", args, err, ee.Stderr)
		}
		t.Fatalf("curl %q: %v", args, err)
	}
	return string(out)
}

// curlSSE runs `curl -N` on an event stream and returns its output lines
// as they come; curl is killed at the end of the test.
func curlSSE(t *testing.T, args ...string) <-chan string {
	t.Helper()
	cmd := exec.Command(curlPath(t), append([]string{"-sS", "-N"}, args...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 256)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(lines)
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
		_ = cmd.Wait()
	})
	return lines
}

// waitLine reads lines until one starts with prefix, and returns it.
func waitLine(t *testing.T, lines <-chan string, prefix string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("curl ended before a line starting with %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line starting with %q from curl within 10 s", prefix)
		}
	}
}

// TestCurl: Debian's curl publishes (a paho.golang subscriber on TCP gets
// it, with a user property from a header), subscribes with -N to Server-
// Sent Events (it gets what paho publishes), reads and clears retained
// messages, and is refused with 401 for a wrong password.
func TestCurl(t *testing.T) {
	e, _ := authEnv(t)
	sub := dialPaho(t, e.mqtt, "sub", &paho.Connect{Username: "alice", UsernameFlag: true, Password: []byte("secret"), PasswordFlag: true})
	sub.subscribe(t, "alice/#", 1)

	got := curl(t, "-u", "alice:secret", "-H", "X-Mqtt-User-Sender: curl", "--data-binary", "hello from curl",
		e.base+"/publish/alice/greeting?qos=1&retain=true")
	if got != `{"delivered_to":1}`+"\n" {
		t.Errorf("publish answered %q", got)
	}
	m := sub.waitFor(t, 1)[0]
	if m.Topic != "alice/greeting" || string(m.Payload) != "hello from curl" || m.QoS != 1 || len(m.Properties.User) != 1 || m.Properties.User[0].Value != "curl" {
		t.Errorf("paho got %s %q QoS %d %v", m.Topic, m.Payload, m.QoS, m.Properties.User)
	}

	t.Run("retained", func(t *testing.T) {
		var r struct{ Topic, Payload string }
		if err := json.Unmarshal([]byte(curl(t, "-u", "alice:secret", e.base+"/retained?topic=alice/greeting")), &r); err != nil {
			t.Fatal(err)
		}
		if r.Topic != "alice/greeting" || r.Payload != "hello from curl" {
			t.Errorf("retained %+v", r)
		}
		curl(t, "-X", "DELETE", "-u", "alice:secret", e.base+"/retained?topic=alice/greeting")
		if code := curl(t, "-o", "/dev/null", "-w", "%{http_code}", "-u", "alice:secret", e.base+"/retained?topic=alice/greeting"); code != "404" {
			t.Errorf("after DELETE: %s, want 404", code)
		}
	})

	t.Run("sse", func(t *testing.T) {
		lines := curlSSE(t, "-H", "Authorization: Bearer tok-alice", e.base+"/subscribe?filter=alice/%23&qos=1")
		waitLine(t, lines, "event: open")
		waitLine(t, lines, "data: ")
		pub := dialPaho(t, e.mqtt, "pub", &paho.Connect{Username: "alice", UsernameFlag: true, Password: []byte("secret"), PasswordFlag: true})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: "alice/door", QoS: 1, Payload: []byte("open")}); err != nil {
			t.Fatal(err)
		}
		waitLine(t, lines, "event: message")
		if id := waitLine(t, lines, "id: "); !strings.HasSuffix(id, "-1") {
			t.Errorf("event %s, want sequence 1", id)
		}
		var d struct{ Topic, Payload string }
		if err := json.Unmarshal([]byte(strings.TrimPrefix(waitLine(t, lines, "data: "), "data: ")), &d); err != nil {
			t.Fatal(err)
		}
		if d.Topic != "alice/door" || d.Payload != "open" {
			t.Errorf("event data %+v", d)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		if code := curl(t, "-o", "/dev/null", "-w", "%{http_code}", "-u", "alice:wrong", "--data-binary", "x", e.base+"/publish/alice/x"); code != "401" {
			t.Errorf("status %s, want 401", code)
		}
	})
}
