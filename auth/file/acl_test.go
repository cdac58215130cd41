package file_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth/file"
)

func writeACL(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "acl")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadACLRefusesWhatMosquittoRefuses: each error names the line, as
// Mosquitto refuses to start on such a file.
func TestLoadACLRefusesWhatMosquittoRefuses(t *testing.T) {
	cases := map[string]struct{ text, want string }{
		"unknown keyword":          {"topic a\nusr bob\n", ":2: invalid line"},
		"unknown access":           {"topic rw a/b\n", `:1: invalid access type "rw"`},
		"access is case-sensitive": {"topic READ a/b\n", `invalid access type "READ"`},
		"empty topic":              {"\n\ntopic\n", ":3: empty topic"},
		"missing user name":        {"user   \n", ":1: missing username"},
		"# not last":               {"topic read a/#/b\n", `:1: invalid topic filter "a/#/b"`},
		"+ inside a level":         {"pattern read a/b+/c\n", `invalid topic filter "a/b+/c"`},
		"tab is not a space":       {"topic\tread a\n", ":1: invalid line"},
		"comment after space":      {"  # indented comment\n", ":1: invalid line"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := file.LoadACL(writeACL(t, c.text))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("LoadACL: %v, want an error with %q", err, c.want)
			}
		})
	}
}

func read(topic string) broker.Access { return broker.Access{Action: broker.ActionRead, Topic: topic} }
func write(topic string) broker.Access {
	return broker.Access{Action: broker.ActionPublish, Topic: topic, QoS: 1}
}
func sub(filter string) broker.Access {
	return broker.Access{Action: broker.ActionSubscribe, Topic: filter, QoS: 1}
}

// TestACLParsesLikeMosquitto: the accepted oddities of the format.
func TestACLParsesLikeMosquitto(t *testing.T) {
	acl, err := file.LoadACL(writeACL(t, strings.Join([]string{
		"# comment",
		"",
		"   topic   read   spaced topic/with spaces   ", // leading and repeated spaces; a filter with spaces
		"topic a/b",         // no access: readwrite
		"user  two words  ", // user names may hold spaces
		"topic write w/#",
	}, "\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	anon := &broker.ClientInfo{ID: "c"}
	two := &broker.ClientInfo{ID: "c", Username: "two words"}
	checks := []struct {
		c    *broker.ClientInfo
		a    broker.Access
		want bool
	}{
		{anon, read("spaced topic/with spaces"), true},
		{anon, write("spaced topic/with spaces"), false},
		{anon, read("a/b"), true},
		{anon, write("a/b"), true},
		{two, write("w/x"), true},
		{two, read("w/x"), false},
		{two, read("a/b"), false},
	}
	for _, k := range checks {
		if got := acl.Authorize(context.Background(), k.c, k.a).Allowed(); got != k.want {
			t.Errorf("%q %s %s: %v, want %v", k.c.Username, k.a.Action, k.a.Topic, got, k.want)
		}
	}
}

// TestACLSubscriptionRefusedOnlyWhenDenyCoversIt: the one place where
// Tern answers differently from Mosquitto.
func TestACLSubscriptionRefusedOnlyWhenDenyCoversIt(t *testing.T) {
	acl, err := file.LoadACL(writeACL(t, `
topic readwrite #
topic deny test/nosubscribe
topic deny secret/#
user carol
topic read users/carol/private
pattern readwrite users/%u/#
pattern deny users/%u/private
`))
	if err != nil {
		t.Fatal(err)
	}
	anon := &broker.ClientInfo{ID: "c"}
	alice := &broker.ClientInfo{ID: "c", Username: "alice"}
	carol := &broker.ClientInfo{ID: "c", Username: "carol"}
	dangerous := &broker.ClientInfo{ID: "c", Username: "al#ce"}
	cases := []struct {
		name   string
		c      *broker.ClientInfo
		filter string
		want   bool
	}{
		{"exact deny", anon, "test/nosubscribe", false},
		{"shared, exact deny", anon, "$share/g/test/nosubscribe", false},
		{"wider than the deny", anon, "test/#", true},
		{"inside a deny #", anon, "secret/a/+", false},
		{"the parent of a deny #", anon, "secret", false}, // secret/# matches secret
		{"sibling of a deny", anon, "test/subscribe", true},
		{"not covered", anon, "#", true},
		{"pattern deny", alice, "users/alice/private", false},
		{"pattern deny, another user", alice, "users/bob/private", true},
		{"own read grant reaches first", carol, "users/carol/private", true},
		{"dangerous user name: patterns skipped", dangerous, "users/al#ce/private", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := acl.Authorize(context.Background(), c.c, sub(c.filter)).Allowed(); got != c.want {
				t.Fatalf("subscribe %s: %v, want %v", c.filter, got, c.want)
			}
		})
	}
}

// TestACLReload: a changed file changes decisions at once, for clients
// already connected too; a broken file keeps the rules in force.
func TestACLReload(t *testing.T) {
	path := writeACL(t, "topic read a/#\n")
	acl, err := file.LoadACL(path)
	if err != nil {
		t.Fatal(err)
	}
	c := &broker.ClientInfo{ID: "c"}
	if !acl.Authorize(context.Background(), c, read("a/x")).Allowed() {
		t.Fatal("a/x not readable before the reload")
	}
	if err := os.WriteFile(path, []byte("topic read b/#\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := acl.Reload(); err != nil {
		t.Fatal(err)
	}
	if acl.Authorize(context.Background(), c, read("a/x")).Allowed() || !acl.Authorize(context.Background(), c, read("b/x")).Allowed() {
		t.Fatal("the reload did not take effect")
	}
	if err := os.WriteFile(path, []byte("topic bogus b/#\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := acl.Reload(); err == nil {
		t.Fatal("a broken file reloaded without error")
	}
	if !acl.Authorize(context.Background(), c, read("b/x")).Allowed() {
		t.Fatal("a failed reload changed the rules")
	}
}
