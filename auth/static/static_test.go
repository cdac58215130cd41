package static_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth"
	"github.com/ternmq/broker/auth/static"
	"github.com/ternmq/broker/internal/authtest"
	"github.com/ternmq/broker/packets"
)

// alice7 is alice's line of a file Debian's mosquitto_passwd 2.0.11 wrote
// (password "correct horse").
const alice7 = "$7$101$4NA3g3qHpoFzt+K9$98bHccj/v7mcFIcbm2oxa7PmtNGIcx9qSL2kvY82LG7NFw+F+PCZlafs191ge8rLCAX/m9m/dHeY3nQWp9yV9g=="

func creds(user, pw string) *broker.Credentials {
	return &broker.Credentials{ClientInfo: broker.ClientInfo{ID: "c", Username: user}, Password: []byte(pw)}
}

func TestUsersAuthenticate(t *testing.T) {
	bc, _ := bcrypt.GenerateFromPassword([]byte("bcrypt-pw"), bcrypt.MinCost)
	u, err := static.New([]static.User{
		{Username: "admin", Password: "s3cret"},
		{Username: "alice", Password: alice7},
		{Username: "bea", Password: string(bc)},
		{Username: "nopw", Password: ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		c    *broker.Credentials
		want error
	}{
		{"plain right", creds("admin", "s3cret"), nil},
		{"plain wrong", creds("admin", "s3cret "), packets.BadUserNameOrPassword},
		{"plain prefix", creds("admin", "s3cre"), packets.BadUserNameOrPassword},
		{"$7$ right", creds("alice", "correct horse"), nil},
		{"$7$ wrong", creds("alice", "correct"), packets.BadUserNameOrPassword},
		{"$7$ the hash itself", creds("alice", alice7), packets.BadUserNameOrPassword},
		{"bcrypt right", creds("bea", "bcrypt-pw"), nil},
		{"no password flag", &broker.Credentials{ClientInfo: broker.ClientInfo{Username: "admin"}}, packets.BadUserNameOrPassword},
		{"empty password configured, empty sent", creds("nopw", ""), nil},
		{"unknown", creds("zed", "x"), auth.ErrUnknownUser},
		{"anonymous", &broker.Credentials{}, auth.ErrUnknownUser},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := u.Authenticate(context.Background(), c.c)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("%v, want %v", err, c.want)
			}
		})
	}
}

func TestNewRefusesBadUsers(t *testing.T) {
	for name, c := range map[string]struct {
		users []static.User
		want  string
	}{
		"empty name":  {[]static.User{{Password: "x"}}, "users[0].username"},
		"duplicate":   {[]static.User{{Username: "a"}, {Username: "a"}}, `users[1].username: "a" is listed twice`},
		"broken hash": {[]static.User{{Username: "a", Password: "$7$0$x$y"}}, "users[0].password: looks like a hash"},
		"bad filter":  {[]static.User{{Username: "a", ACL: &static.ACL{Subscribe: []string{"a/#/b"}}}}, "users[0].acl.subscribe[0]"},
		"bad deny":    {[]static.User{{Username: "a", ACL: &static.ACL{Deny: []string{"x", "+x"}}}}, "users[0].acl.deny[1]"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := static.New(c.users)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v, want %q", err, c.want)
			}
		})
	}
}

// TestSeedUsersOverMQTT runs the seed's example users in a broker and
// drives them with both Paho clients: the admin of the seed (publish and
// subscribe "#"), a sensor confined by %u and %c, a user without an ACL
// decided by the default ACL, anonymous clients refused.
func TestSeedUsersOverMQTT(t *testing.T) {
	def, err := static.NewACL(static.ACL{Publish: []string{"public/#"}, Subscribe: []string{"public/#"}})
	if err != nil {
		t.Fatal(err)
	}
	users, err := static.New([]static.User{
		{Username: "admin", Password: "admin-pw", ACL: &static.ACL{Publish: []string{"#"}, Subscribe: []string{"#"}}},
		{Username: "sensor", Password: alice7, ACL: &static.ACL{
			Publish:   []string{"sensors/%u/#"},
			Subscribe: []string{"commands/%c/#"},
			Deny:      []string{"sensors/%u/private"},
		}},
		{Username: "guest", Password: "guest-pw"},
	}, static.WithFallback(def))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := auth.NewChain([]auth.Member{{Name: "users", Authenticator: users, Authorizer: users}}, auth.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	_, addr := authtest.StartTern(t, broker.WithAuthenticator(chain), broker.WithAuthorizer(chain))
	for _, v := range []authtest.Version{authtest.V311, authtest.V5} {
		t.Run("v"+v.String(), func(t *testing.T) {
			admin := connect(t, v, addr, authtest.Login{ClientID: "adm", Username: "admin", Password: "admin-pw"})
			sensor := connect(t, v, addr, authtest.Login{ClientID: "s1", Username: "sensor", Password: "correct horse"})
			guest := connect(t, v, addr, authtest.Login{ClientID: "g", Username: "guest", Password: "guest-pw"})
			mustSub(t, admin, "#", 1)
			mustSub(t, sensor, "commands/s1/#", 1)
			mustSub(t, guest, "public/#", 1)
			if code, _ := sensor.Subscribe("commands/s2/#", 1); code < 0x80 {
				t.Errorf("sensor subscribed to another client's commands: 0x%02x", code)
			}
			if code, _ := guest.Subscribe("#", 1); code < 0x80 {
				t.Errorf("guest subscribed to #: 0x%02x", code)
			}

			// What the sensor may publish reaches the admin; the rest does not.
			mustPub(t, sensor, "sensors/sensor/temp", "21.5")
			mustPub(t, sensor, "sensors/sensor/private", "hidden")
			mustPub(t, sensor, "sensors/other/temp", "forged")
			mustPub(t, admin, "sync/admin", "sync-1")
			got, err := authtest.Await(admin, "sync-1")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Payload != "21.5" {
				t.Errorf("admin received %v, want only 21.5", got)
			}

			// Commands reach their own device only; public reaches the guest.
			mustPub(t, admin, "commands/s2/reboot", "not-yours")
			mustPub(t, admin, "commands/s1/reboot", "yours")
			if got, err := authtest.Await(sensor, "yours"); err != nil || len(got) != 0 {
				t.Errorf("sensor: %v %v", got, err)
			}
			mustPub(t, admin, "public/news", "news")
			if _, err := authtest.Await(guest, "news"); err != nil {
				t.Error(err)
			}
			for _, c := range []authtest.Client{admin, sensor, guest} {
				c.Close()
			}
			for _, l := range []authtest.Login{
				{ClientID: "x", Username: "admin", Password: "wrong"},
				{ClientID: "x", Username: "nobody", Password: "x"},
				{ClientID: "x"},
			} {
				if _, _, err := authtest.Connect(v, addr, l); !errors.Is(err, authtest.ErrRefused) {
					t.Errorf("%+v: %v, want refused", l, err)
				}
			}
		})
	}
}

// TestPahoSubscribeFailureFromYAMLUsers: the Paho interoperability suite's
// test_subscribe_failure, with the refusal written as a deny filter of
// the default ACL (mqttd's "auth: {type: none, acl: {deny:
// [test/nosubscribe]}}") for its anonymous client: SUBACK 0x80 over 3.1.1,
// 0x87 over 5.
func TestPahoSubscribeFailureFromYAMLUsers(t *testing.T) {
	def, err := static.NewACL(static.ACL{Publish: []string{"#"}, Subscribe: []string{"#"}, Deny: []string{"test/nosubscribe"}})
	if err != nil {
		t.Fatal(err)
	}
	_, addr := authtest.StartTern(t, broker.WithAuthorizer(def))
	for _, c := range []struct {
		v    authtest.Version
		want byte
	}{{authtest.V311, 0x80}, {authtest.V5, 0x87}} {
		t.Run("v"+c.v.String(), func(t *testing.T) {
			cl := connect(t, c.v, addr, authtest.Login{ClientID: "myclientid"})
			defer cl.Close()
			if code, err := cl.Subscribe("test/nosubscribe", 2); err != nil || code != c.want {
				t.Errorf("SUBACK 0x%02x %v, want 0x%02x", code, err, c.want)
			}
			mustSub(t, cl, "TopicA/#", 2)
		})
	}
}

func connect(t *testing.T, v authtest.Version, addr string, l authtest.Login) authtest.Client {
	t.Helper()
	c, _, err := authtest.Connect(v, addr, l)
	if err != nil {
		t.Fatalf("connect %s: %v", l.Username, err)
	}
	t.Cleanup(c.Close)
	return c
}

func mustSub(t *testing.T, c authtest.Client, filter string, qos byte) {
	t.Helper()
	if code, err := c.Subscribe(filter, qos); err != nil || code >= 0x80 {
		t.Fatalf("subscribe %s: 0x%02x %v", filter, code, err)
	}
}

func mustPub(t *testing.T, c authtest.Client, topic, payload string) {
	t.Helper()
	if _, err := c.Publish(topic, payload, false); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}
