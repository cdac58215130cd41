package file_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth/file"
	"github.com/ternmq/broker/internal/authtest"
)

// The comparison: the same client operations, on the same password and ACL
// files, against Mosquitto 2.0.11 (Debian's mosquitto, run by the test) and
// against Tern with auth/file, over MQTT 3.1.1 (paho.mqtt.golang) and 5
// (paho.golang). Each operation's outcome — CONNACK, SUBACK, PUBACK code and
// whether the message arrived — must be the same, except where a case says
// why Tern differs on purpose.

// harnessACL is appended to every ACL file: an observer that may read and
// write everything, and a topic per client on which the harness sends the
// message marking "all before this was delivered", so that "not delivered"
// is decided without waiting for a timeout. It changes no decision of the
// files on other topics (see the comment in TestCompareWithMosquitto).
const harnessACL = `
# --- appended by the test harness ---
user tern-observer
topic readwrite #
topic read $SYS/#
pattern read tern-sync/%c
`

// users are written into the password file by mosquitto_passwd.
var users = []struct{ name, password, hash string }{
	{"roger", "roger-pw", "sha512-pbkdf2"},
	{"alice", "alice-pw", "sha512-pbkdf2"},
	{"bob", "bob-pw", "sha512-pbkdf2"},
	{"legacy", "legacy-pw", "sha512"}, // $6$, as Mosquitto 1.x wrote
	{"tern-observer", "observer-pw", "sha512-pbkdf2"},
}

type opKind int

const (
	opConnect opKind = iota
	opPublish
	opSubscribe
)

// compareCase is one operation of the comparison.
type compareCase struct {
	acl      string         // file in testdata
	login    authtest.Login // of the client under test
	op       opKind
	topic    string // published topic, or subscribed filter
	probe    string // opSubscribe: the topic the observer then publishes to
	retained bool   // opSubscribe: the probe is retained, published before the SUBSCRIBE
	sync     string // topic on which the client gets the sync message (default tern-sync/<client id>)
	// ternRefuses: Tern refuses the SUBSCRIBE that Mosquitto grants,
	// because a deny rule covers the whole filter; nothing is delivered by
	// either broker.
	ternRefuses bool
}

func (c compareCase) String() string {
	who := c.login.Username
	if who == "" {
		who = "anonymous"
	}
	if c.login.ClientID != "" && !strings.HasPrefix(c.login.ClientID, "c-") {
		who += " (id " + c.login.ClientID + ")"
	}
	switch c.op {
	case opConnect:
		pw := "no password"
		if c.login.Password != "" {
			pw = "password " + c.login.Password
		}
		if c.login.Username == "" {
			return "connect anonymous"
		}
		return fmt.Sprintf("%s connects, %s", c.login.Username, pw)
	case opPublish:
		return fmt.Sprintf("%s publishes %s", who, c.topic)
	}
	r := ""
	if c.retained {
		r = " retained"
	}
	return fmt.Sprintf("%s subscribes %s,%s message on %s", who, c.topic, r, c.probe)
}

var (
	anon = func(id string) authtest.Login { return authtest.Login{ClientID: id} }
	user = func(name, id string) authtest.Login {
		return authtest.Login{ClientID: id, Username: name, Password: name + "-pw"}
	}
	roger = user("roger", "c-roger")
	alice = user("alice", "c-alice")
	bob   = user("bob", "c-bob")
	cases = []compareCase{
		// aclfile.example, verbatim from Debian's mosquitto package.
		{acl: "aclfile.example", op: opConnect, login: anon("c-anon")},
		{acl: "aclfile.example", op: opConnect, login: roger},
		{acl: "aclfile.example", op: opConnect, login: authtest.Login{ClientID: "c-roger", Username: "roger", Password: "wrong"}},
		{acl: "aclfile.example", op: opConnect, login: authtest.Login{ClientID: "c-roger", Username: "roger"}},
		{acl: "aclfile.example", op: opConnect, login: authtest.Login{ClientID: "c-nobody", Username: "nobody", Password: "x"}},
		{acl: "aclfile.example", op: opConnect, login: user("legacy", "c-legacy")},
		{acl: "aclfile.example", op: opSubscribe, login: anon("c-anon"), topic: "$SYS/#", probe: "$SYS/broker/connection/tern-observer/state"},
		{acl: "aclfile.example", op: opSubscribe, login: anon("c-anon"), topic: "foo/bar", probe: "foo/bar"},
		{acl: "aclfile.example", op: opPublish, login: anon("c-anon"), topic: "foo/bar"},
		{acl: "aclfile.example", op: opSubscribe, login: roger, topic: "foo/bar", probe: "foo/bar"},
		{acl: "aclfile.example", op: opSubscribe, login: roger, topic: "foo/#", probe: "foo/bar"},
		{acl: "aclfile.example", op: opSubscribe, login: roger, topic: "foo/#", probe: "foo/baz"},
		{acl: "aclfile.example", op: opSubscribe, login: roger, topic: "#", probe: "foo/bar"},
		{acl: "aclfile.example", op: opSubscribe, login: roger, topic: "foo/bar", probe: "foo/bar", retained: true},
		{acl: "aclfile.example", op: opSubscribe, login: anon("c-anon"), topic: "foo/bar", probe: "foo/bar", retained: true},
		{acl: "aclfile.example", op: opPublish, login: roger, topic: "foo/bar"},
		{acl: "aclfile.example", op: opPublish, login: roger, topic: "foo/baz"},
		{acl: "aclfile.example", op: opSubscribe, login: roger, topic: "$SYS/#", probe: "$SYS/broker/connection/tern-observer/state"},
		{acl: "aclfile.example", op: opPublish, login: anon("bridge1"), topic: "$SYS/broker/connection/bridge1/state"},
		{acl: "aclfile.example", op: opPublish, login: anon("bridge1"), topic: "$SYS/broker/connection/bridge2/state"},
		{acl: "aclfile.example", op: opPublish, login: roger, topic: "$SYS/broker/uptime"},
		{acl: "aclfile.example", op: opSubscribe, login: alice, topic: "#", probe: "foo/bar"},
		{acl: "aclfile.example", op: opPublish, login: alice, topic: "foo/bar"},

		// The examples of the mosquitto.conf man page.
		{acl: "manpage.acl", op: opPublish, login: alice, topic: "sensor/alice/data"},
		{acl: "manpage.acl", op: opPublish, login: alice, topic: "sensor/bob/data"},
		{acl: "manpage.acl", op: opPublish, login: anon("c-anon"), topic: "sensor/alice/data"},
		{acl: "manpage.acl", op: opSubscribe, login: alice, topic: "sensor/alice/data", probe: "sensor/alice/data"},
		{acl: "manpage.acl", op: opPublish, login: anon("c-anon"), topic: "$SYS/broker/connection/c-anon/state"},

		// Deny rules, as the man page describes them.
		{acl: "deny.acl", op: opSubscribe, login: anon("c-anon"), topic: "test/nosubscribe", probe: "test/nosubscribe", ternRefuses: true},
		{acl: "deny.acl", op: opSubscribe, login: anon("c-anon"), topic: "test/#", probe: "test/nosubscribe"},
		{acl: "deny.acl", op: opSubscribe, login: anon("c-anon"), topic: "test/#", probe: "test/other"},
		{acl: "deny.acl", op: opSubscribe, login: anon("c-anon"), topic: "$share/g/test/nosubscribe", probe: "test/nosubscribe", ternRefuses: true},
		{acl: "deny.acl", op: opPublish, login: anon("c-anon"), topic: "test/nosubscribe"},
		{acl: "deny.acl", op: opPublish, login: anon("c-anon"), topic: "test/other"},
		{acl: "deny.acl", op: opSubscribe, login: alice, topic: "home/#", probe: "home/secret/code"},
		{acl: "deny.acl", op: opSubscribe, login: alice, topic: "home/#", probe: "home/kitchen"},
		{acl: "deny.acl", op: opSubscribe, login: alice, topic: "home/secret/#", probe: "home/secret/code", ternRefuses: true},
		{acl: "deny.acl", op: opSubscribe, login: alice, topic: "home/secret/+", probe: "home/secret/code", ternRefuses: true},
		{acl: "deny.acl", op: opPublish, login: alice, topic: "home/secret/code"},
		{acl: "deny.acl", op: opPublish, login: alice, topic: "home/kitchen"},
		{acl: "deny.acl", op: opPublish, login: alice, topic: "public/news"},
		{acl: "deny.acl", op: opSubscribe, login: alice, topic: "public/#", probe: "public/news", retained: true},
		{acl: "deny.acl", op: opPublish, login: alice, topic: "users/alice/notes"},
		{acl: "deny.acl", op: opPublish, login: alice, topic: "users/bob/notes"},
		{acl: "deny.acl", op: opSubscribe, login: alice, topic: "users/alice/private", probe: "users/alice/private", ternRefuses: true},
		{acl: "deny.acl", op: opSubscribe, login: alice, topic: "users/alice/#", probe: "users/alice/private"},
		{acl: "deny.acl", op: opSubscribe, login: alice, topic: "users/alice/#", probe: "users/alice/notes"},
		{acl: "deny.acl", op: opSubscribe, login: bob, topic: "home/+/status", probe: "home/alice/status"},
		{acl: "deny.acl", op: opPublish, login: bob, topic: "home/bob/lamp"},
		{acl: "deny.acl", op: opSubscribe, login: bob, topic: "home/bob/#", probe: "home/bob/lamp"},
		{acl: "deny.acl", op: opSubscribe, login: user("bob", "dev1"), topic: "clients/dev1/#", probe: "clients/dev1/cmd"},
		{acl: "deny.acl", op: opSubscribe, login: user("bob", "dev1"), topic: "clients/#", probe: "clients/dev2/cmd"},
		{acl: "deny.acl", op: opSubscribe, login: user("bob", "dev+1"), topic: "users/bob/#", probe: "users/bob/x", sync: "home/tern-sync/status"},
		{acl: "deny.acl", op: opSubscribe, login: user("bob", "dev+1"), topic: "home/+/status", probe: "home/alice/status", sync: "home/tern-sync/status"},
		{acl: "deny.acl", op: opSubscribe, login: user("bob", "x/y"), topic: "clients/x/#", probe: "clients/x/y/cmd"},
	}
)

// mosquittoPasswd writes the password file with Debian's mosquitto_passwd.
func mosquittoPasswd(t *testing.T, dir string) string {
	t.Helper()
	bin := authtest.NeedTool(t, "mosquitto_passwd")
	path := filepath.Join(dir, "passwd")
	for i, u := range users {
		args := []string{"-H", u.hash, "-b", path, u.name, u.password}
		if i == 0 {
			args = append([]string{"-c"}, args...)
		}
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("mosquitto_passwd %v: %v: %s", args, err, out)
		}
	}
	return path
}

// result is what one operation did.
type result struct {
	OK        bool // connection accepted, subscription granted, publish acknowledged without a failure code
	Code      byte // CONNACK, SUBACK or (v5) PUBACK code
	Delivered bool // the message arrived (observer for a publish, client for a subscribe)
}

// run performs c against the broker at addr, with obs (the observer,
// subscribed to # and $SYS/#) on the side.
func run(t *testing.T, v authtest.Version, addr string, obs authtest.Client, c compareCase, seq *atomic.Int64) result {
	t.Helper()
	mark := func(what string) string { return fmt.Sprintf("%s-%d", what, seq.Add(1)) }
	cl, code, err := authtest.Connect(v, addr, c.login)
	if errors.Is(err, authtest.ErrRefused) {
		return result{Code: code}
	}
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer cl.Close()
	if c.op == opConnect {
		return result{OK: true}
	}
	if c.op == opPublish {
		payload := mark("pub")
		code, err := cl.Publish(c.topic, payload, false)
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		sync := mark("sync")
		if _, err := obs.Publish("tern-sync/tern-observer", sync, false); err != nil {
			t.Fatal(err)
		}
		before, err := authtest.Await(obs, sync)
		if err != nil {
			t.Fatal(err)
		}
		return result{OK: code < 0x80, Code: code, Delivered: slices.ContainsFunc(before, func(m authtest.Msg) bool { return m.Payload == payload })}
	}
	syncTopic := c.sync
	if syncTopic == "" {
		syncTopic = "tern-sync/" + c.login.ClientID
	}
	if code, err := cl.Subscribe(syncTopic, 1); err != nil || code >= 0x80 {
		t.Fatalf("subscribe to %s: 0x%02x %v", syncTopic, code, err)
	}
	payload := mark("probe")
	if c.retained {
		if _, err := obs.Publish(c.probe, payload, true); err != nil {
			t.Fatal(err)
		}
		defer func() { _, _ = obs.Publish(c.probe, "", true) }()
	}
	code, err = cl.Subscribe(c.topic, 1)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	if !c.retained {
		if _, err := obs.Publish(c.probe, payload, false); err != nil {
			t.Fatal(err)
		}
	}
	sync := mark("sync")
	if _, err := obs.Publish(syncTopic, sync, false); err != nil {
		t.Fatal(err)
	}
	before, err := authtest.Await(cl, sync)
	if err != nil {
		t.Fatal(err)
	}
	return result{OK: code < 0x80, Code: code, Delivered: slices.ContainsFunc(before, func(m authtest.Msg) bool { return m.Payload == payload })}
}

// startBoth runs Mosquitto and Tern on the same files.
func startBoth(t *testing.T, pwfile, aclfile string) (mosq, tern string) {
	t.Helper()
	m := authtest.StartMosquitto(t, "allow_anonymous true", "password_file "+pwfile, "acl_file "+aclfile)
	pw, err := file.LoadPasswords(pwfile, file.WithAnonymous(), file.WithLogger(authtest.Quiet()))
	if err != nil {
		t.Fatal(err)
	}
	acl, err := file.LoadACL(aclfile)
	if err != nil {
		t.Fatal(err)
	}
	_, addr := authtest.StartTern(t, broker.WithAuthenticator(pw), broker.WithAuthorizer(acl))
	return m.Addr, addr
}

func observer(t *testing.T, addr string) authtest.Client {
	t.Helper()
	obs, _, err := authtest.Connect(authtest.V5, addr, authtest.Login{ClientID: "tern-observer", Username: "tern-observer", Password: "observer-pw"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(obs.Close)
	for _, f := range []string{"#", "$SYS/#"} {
		if code, err := obs.Subscribe(f, 1); err != nil || code >= 0x80 {
			t.Fatalf("observer subscribe %s: 0x%02x %v", f, code, err)
		}
	}
	return obs
}

// TestCompareWithMosquitto runs the cases against both brokers. The
// harness lines appended to each ACL file grant only the observer's rights
// and read access to tern-sync/<client id>: a topic no case uses. They
// also make every file have a pattern, which changes nothing else: without
// patterns a client with no rules of its own is denied everything, with
// them it is denied everything the patterns do not grant; and the check of
// user names and client ids holding '+' or '#' comes after the client's
// own rules, where without patterns the answer is "denied" as well.
//
// Set TERN_COMPARE_TABLE to a file name to have the table written there
// in Markdown.
func TestCompareWithMosquitto(t *testing.T) {
	authtest.NeedTool(t, "mosquitto")
	dir := t.TempDir()
	pwfile := mosquittoPasswd(t, dir)
	type row struct {
		c   compareCase
		res [2][2]result // [version][mosquitto, tern]
	}
	var rows []row
	var seq atomic.Int64
	for _, aclName := range []string{"aclfile.example", "manpage.acl", "deny.acl"} {
		src, err := os.ReadFile(filepath.Join("testdata", aclName))
		if err != nil {
			t.Fatal(err)
		}
		aclfile := filepath.Join(dir, aclName)
		if err := os.WriteFile(aclfile, append(src, harnessACL...), 0o600); err != nil {
			t.Fatal(err)
		}
		mosq, tern := startBoth(t, pwfile, aclfile)
		rowOf := make(map[int]int) // case index -> row index
		for i, c := range cases {
			if c.acl == aclName {
				rowOf[i] = len(rows)
				rows = append(rows, row{c: c})
			}
		}
		for vi, v := range []authtest.Version{authtest.V311, authtest.V5} {
			obs := [2]authtest.Client{observer(t, mosq), observer(t, tern)}
			for i, c := range cases {
				if c.acl != aclName {
					continue
				}
				r := &rows[rowOf[i]]
				t.Run(fmt.Sprintf("%s/v%s/%s", aclName, v, c), func(t *testing.T) {
					m := run(t, v, mosq, obs[0], c, &seq)
					tr := run(t, v, tern, obs[1], c, &seq)
					r.res[vi] = [2]result{m, tr}
					checkSame(t, v, c, m, tr)
				})
			}
			obs[0].Close()
			obs[1].Close()
		}
	}
	table := renderTable(func(yield func(compareCase, [2][2]result) bool) {
		for _, r := range rows {
			if !yield(r.c, r.res) {
				return
			}
		}
	})
	t.Logf("comparison table:\n%s", table)
	if out := os.Getenv("TERN_COMPARE_TABLE"); out != "" {
		if err := os.WriteFile(out, []byte(table), 0o644); err != nil {
			t.Error(err)
		}
	}
}

// checkSame compares the outcomes. Two differences are by design: a
// refused connection carries Bad user name or password in Tern (3.1.1
// return code 4, v5 0x86) where Mosquitto says Not authorized (5, 0x87);
// and a SUBSCRIBE whose filter a deny rule covers is refused by Tern
// (0x80; v5 0x87) where Mosquitto grants it and delivers nothing.
func checkSame(t *testing.T, v authtest.Version, c compareCase, m, tr result) {
	t.Helper()
	switch {
	case c.op == opConnect && !m.OK:
		if tr.OK {
			t.Errorf("Mosquitto refused (0x%02x), Tern accepted", m.Code)
		}
	case c.ternRefuses:
		refused := byte(0x80)
		if v == authtest.V5 {
			refused = 0x87
		}
		if !m.OK || m.Delivered {
			t.Errorf("Mosquitto: %+v, want the SUBSCRIBE granted and nothing delivered", m)
		}
		if tr.OK || tr.Code != refused || tr.Delivered {
			t.Errorf("Tern: %+v, want SUBACK 0x%02x and nothing delivered", tr, refused)
		}
	case m != tr:
		t.Errorf("Mosquitto %+v, Tern %+v", m, tr)
	}
}

func renderTable(rows func(func(compareCase, [2][2]result) bool)) string {
	var b strings.Builder
	b.WriteString("| ACL file | Operation | Mosquitto 2.0.11 (3.1.1) | Tern (3.1.1) | Mosquitto 2.0.11 (5) | Tern (5) |\n")
	b.WriteString("|---|---|---|---|---|---|\n")
	for c, res := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", c.acl, c,
			describe(c, res[0][0]), describe(c, res[0][1]), describe(c, res[1][0]), describe(c, res[1][1]))
	}
	return b.String()
}

func describe(c compareCase, r result) string {
	switch c.op {
	case opConnect:
		if r.OK {
			return "accepted"
		}
		return fmt.Sprintf("refused %d (0x%02x)", r.Code, r.Code)
	case opPublish:
		s := "dropped"
		if r.Delivered {
			s = "delivered"
		}
		if r.Code != 0 {
			s += fmt.Sprintf(", PUBACK 0x%02x", r.Code)
		}
		return s
	}
	s := fmt.Sprintf("SUBACK 0x%02x, ", r.Code)
	if r.Delivered {
		return s + "delivered"
	}
	return s + "not delivered"
}
