package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/ternmq/broker/cmd/mqttd/internal/config"
	"github.com/ternmq/broker/internal/authtest"
)

// alice7 is a line mosquitto_passwd 2.0.11 wrote: alice, "correct horse".
const alice7 = "alice:$7$101$4NA3g3qHpoFzt+K9$98bHccj/v7mcFIcbm2oxa7PmtNGIcx9qSL2kvY82LG7NFw+F+PCZlafs191ge8rLCAX/m9m/dHeY3nQWp9yV9g==\n"

// runYAML runs mqttd in-process on the configuration text (a tcp listener
// on a random loopback port is added) until the test ends, and returns
// the address and the log.
func runYAML(t *testing.T, yaml string, env map[string]string) (string, *syncBuffer) {
	t.Helper()
	text := "listeners:\n  - {type: tcp, address: \"127.0.0.1:0\"}\n" + yaml
	cfg, err := config.Parse("tern.yaml", []byte(text), func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, cfg, config.Log{Level: "info", Format: "text"}.Logger(logs)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	var m []string
	waitFor(t, 10*time.Second, func() error {
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, logs.String())
		default:
		}
		if m = listeningLine.FindStringSubmatch(logs.String()); m == nil {
			return fmt.Errorf("no listening line:\n%s", logs.String())
		}
		return nil
	})
	return m[1], logs
}

func writeText(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func dial(t *testing.T, v authtest.Version, addr string, l authtest.Login) authtest.Client {
	t.Helper()
	c, _, err := authtest.Connect(v, addr, l)
	if err != nil {
		t.Fatalf("connect %+v: %v", l, err)
	}
	t.Cleanup(c.Close)
	return c
}

// delivered publishes payload to topic from pub and reports whether sub
// receives it, using a sync message on syncTopic (which sub must be
// subscribed to and allowed to read) to know when to stop waiting.
func delivered(t *testing.T, pub, sub authtest.Client, topic, syncTopic string) bool {
	t.Helper()
	payload := fmt.Sprintf("%s-%d", topic, time.Now().UnixNano())
	if _, err := pub.Publish(topic, payload, false); err != nil {
		t.Fatal(err)
	}
	if _, err := pub.Publish(syncTopic, payload+"-sync", false); err != nil {
		t.Fatal(err)
	}
	before, err := authtest.Await(sub, payload+"-sync")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range before {
		if m.Payload == payload {
			return true
		}
	}
	return false
}

// TestRunSeedAuthWithMosquittoFiles runs the seed's auth block verbatim
// beside Mosquitto's password_file and acl_file: the seed's admin (a
// users entry with its own ACL) may do everything; a password_file user
// is held to acl_file; wrong passwords, unknown users and anonymous
// clients are refused.
func TestRunSeedAuthWithMosquittoFiles(t *testing.T) {
	dir := t.TempDir()
	pw, acl := filepath.Join(dir, "passwd"), filepath.Join(dir, "acl")
	writeText(t, pw, alice7)
	writeText(t, acl, "user alice\ntopic readwrite home/alice/#\ntopic read public/#\n")
	addr, logs := runYAML(t, `
auth:
  type: password  # none, password, jwt, custom
  users:
    - username: admin
      password: ${ADMIN_PASSWORD}
      acl:
        publish: ["#"]
        subscribe: ["#"]
  password_file: `+pw+`
  acl_file: `+acl+`
`, map[string]string{"ADMIN_PASSWORD": "s3cret-admin"})
	if m := listeningLine.FindStringSubmatch(logs.String()); m[2] != "password,users:1,password_file,acl_file" {
		t.Errorf("auth=%s", m[2])
	}
	for _, v := range []authtest.Version{authtest.V311, authtest.V5} {
		t.Run("v"+v.String(), func(t *testing.T) {
			admin := dial(t, v, addr, authtest.Login{ClientID: "admin", Username: "admin", Password: "s3cret-admin"})
			alice := dial(t, v, addr, authtest.Login{ClientID: "alice", Username: "alice", Password: "correct horse"})
			for _, f := range []string{"#"} {
				if code, err := admin.Subscribe(f, 1); err != nil || code >= 0x80 {
					t.Fatalf("admin subscribe %s: 0x%02x %v", f, code, err)
				}
			}
			for _, f := range []string{"home/alice/#", "public/#", "home/bob/#"} {
				if code, err := alice.Subscribe(f, 1); err != nil || code >= 0x80 {
					t.Fatalf("alice subscribe %s: 0x%02x %v", f, code, err)
				}
			}
			if !delivered(t, alice, admin, "home/alice/lamp", "home/alice/sync") {
				t.Error("alice's own topic did not reach the admin")
			}
			if delivered(t, alice, admin, "public/news", "home/alice/sync") {
				t.Error("alice published to a read-only topic")
			}
			if !delivered(t, admin, alice, "public/news", "home/alice/sync") {
				t.Error("alice did not receive public/news")
			}
			if delivered(t, admin, alice, "home/bob/lamp", "home/alice/sync") {
				t.Error("alice received bob's topic (Mosquitto grants the SUBSCRIBE, delivers nothing)")
			}
			for _, l := range []authtest.Login{
				{ClientID: "x", Username: "admin", Password: "wrong"},
				{ClientID: "x", Username: "alice", Password: "wrong"},
				{ClientID: "x", Username: "mallory", Password: "x"},
				{ClientID: "x"},
			} {
				if _, _, err := authtest.Connect(v, addr, l); !errors.Is(err, authtest.ErrRefused) {
					t.Errorf("%+v: %v, want refused", l, err)
				}
			}
		})
	}
	if strings.Contains(logs.String(), "s3cret-admin") || strings.Contains(logs.String(), "correct horse") {
		t.Errorf("a password is in the log:\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), `msg="authentication failed"`) || !strings.Contains(logs.String(), "username=mallory") {
		t.Errorf("failures not logged:\n%s", logs.String())
	}
}

// TestSIGHUPReloadsPasswordAndACLFiles sends mqttd (this process) a real
// SIGHUP: a user added to the password file can connect, an ACL change
// applies to a client already connected, which stays connected; a broken
// ACL file is reported and the rules in force stay.
func TestSIGHUPReloadsPasswordAndACLFiles(t *testing.T) {
	dir := t.TempDir()
	pw, acl := filepath.Join(dir, "passwd"), filepath.Join(dir, "acl")
	writeText(t, pw, alice7)
	writeText(t, acl, "user alice\ntopic readwrite a/#\ntopic readwrite sync/#\n")
	addr, logs := runYAML(t, "auth:\n  type: password\n  password_file: "+pw+"\n  acl_file: "+acl+"\n", nil)
	v := authtest.V5
	alice := dial(t, v, addr, authtest.Login{ClientID: "alice", Username: "alice", Password: "correct horse"})
	for _, f := range []string{"a/#", "sync/#"} {
		if code, err := alice.Subscribe(f, 1); err != nil || code >= 0x80 {
			t.Fatalf("subscribe %s: 0x%02x %v", f, code, err)
		}
	}
	if !delivered(t, alice, alice, "a/x", "sync/1") {
		t.Fatal("a/x not delivered before the reload")
	}
	if _, _, err := authtest.Connect(v, addr, authtest.Login{ClientID: "bob", Username: "bob", Password: "bob-pw"}); !errors.Is(err, authtest.ErrRefused) {
		t.Fatalf("bob before the reload: %v", err)
	}

	bin := authtest.NeedTool(t, "mosquitto_passwd")
	if out, err := exec.Command(bin, "-b", pw, "bob", "bob-pw").CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_passwd: %v %s", err, out)
	}
	writeText(t, acl, "user alice\ntopic read a/#\ntopic readwrite sync/#\nuser bob\ntopic readwrite a/#\ntopic readwrite sync/#\n")
	sighup(t, logs, 1)
	bob := dial(t, v, addr, authtest.Login{ClientID: "bob", Username: "bob", Password: "bob-pw"})
	if delivered(t, alice, alice, "a/y", "sync/2") {
		t.Error("alice still publishes to a/# after the reload made it read-only")
	}
	if !delivered(t, bob, alice, "a/z", "sync/3") {
		t.Error("alice, still connected, no longer receives a/#")
	}

	writeText(t, acl, "user alice\ntopic rw a/#\n")
	sighup(t, logs, 2)
	if !strings.Contains(logs.String(), `msg="reload failed, keeping the previous state" part="auth (`) || !strings.Contains(logs.String(), `invalid access type \"rw\"`) {
		t.Errorf("the broken ACL file is not reported:\n%s", logs.String())
	}
	if !delivered(t, bob, alice, "a/w", "sync/4") {
		t.Error("a failed reload changed the rules in force")
	}
}

// sighup signals this process and waits for the n-th reload log line.
func sighup(t *testing.T, logs *syncBuffer, n int) {
	t.Helper()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if c := strings.Count(logs.String(), `part="auth (`); c < n {
			return fmt.Errorf("%d reload lines, want %d:\n%s", c, n, logs.String())
		}
		return nil
	})
}

// TestPahoSubscribeFailureFromMqttdYAML: the Paho interoperability
// suite's test_subscribe_failure against mqttd configured in YAML: SUBACK
// 0x80 (3.1.1) and 0x87 (5) for test/nosubscribe, other topics usable.
func TestPahoSubscribeFailureFromMqttdYAML(t *testing.T) {
	addr, _ := runYAML(t, `
auth:
  acl:
    publish: ["#"]
    subscribe: ["#"]
    deny: [test/nosubscribe]
`, nil)
	for _, c := range []struct {
		v    authtest.Version
		want byte
	}{{authtest.V311, 0x80}, {authtest.V5, 0x87}} {
		t.Run("v"+c.v.String(), func(t *testing.T) {
			cl := dial(t, c.v, addr, authtest.Login{ClientID: "myclientid"})
			if code, err := cl.Subscribe("test/nosubscribe", 2); err != nil || code != c.want {
				t.Errorf("test/nosubscribe: SUBACK 0x%02x %v, want 0x%02x", code, err, c.want)
			}
			if code, err := cl.Subscribe("TopicA/#", 2); err != nil || code != 2 {
				t.Errorf("TopicA/#: SUBACK 0x%02x %v, want 2", code, err)
			}
		})
	}
}

// TestRunJWT: a token signed with the configured secret is the password,
// its claim is the ACL, and the connection ends when the token expires.
func TestRunJWT(t *testing.T) {
	secret := strings.Repeat("k", 32)
	addr, logs := runYAML(t, "auth:\n  type: jwt\n  jwt:\n    secret: ${JWT_SECRET}\n", map[string]string{"JWT_SECRET": secret})
	if m := listeningLine.FindStringSubmatch(logs.String()); m[2] != "jwt" {
		t.Errorf("auth=%s, want jwt", m[2])
	}
	tok, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, gojwt.MapClaims{
		"sub": "dev", "exp": time.Now().Add(2 * time.Second).Unix(),
		"mqtt": map[string]any{"pub": []string{"d/#"}, "sub": []string{"d/#"}},
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, authtest.V5, addr, authtest.Login{ClientID: "dev", Password: tok})
	if code, err := c.Subscribe("d/#", 1); err != nil || code >= 0x80 {
		t.Fatalf("subscribe: 0x%02x %v", code, err)
	}
	if code, _ := c.Subscribe("other/#", 1); code != 0x87 {
		t.Errorf("other/#: SUBACK 0x%02x, want 0x87", code)
	}
	if _, _, err := authtest.Connect(authtest.V5, addr, authtest.Login{ClientID: "x", Username: "dev", Password: "not-a-token"}); !errors.Is(err, authtest.ErrRefused) {
		t.Errorf("a plain password: %v, want refused", err)
	}
	select {
	case <-c.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("the connection outlived its token")
	}
	waitFor(t, 2*time.Second, func() error {
		if !strings.Contains(logs.String(), "token expired, client disconnected") {
			return fmt.Errorf("no disconnect line:\n%s", logs.String())
		}
		return nil
	})
}
