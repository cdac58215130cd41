package jwt_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth/jwt"
	"github.com/ternmq/broker/internal/authtest"
	"github.com/ternmq/broker/packets"
)

var secret = []byte("0123456789abcdef0123456789abcdef")

func token(t *testing.T, claims gojwt.MapClaims) string {
	t.Helper()
	s, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, claims).SignedString(secret)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// disconnects records what an Expirer asked to disconnect.
type disconnects struct {
	mu  sync.Mutex
	ids []string
	rcs []packets.ReasonCode
}

func (d *disconnects) record(id string, rc packets.ReasonCode) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.ids, d.rcs = append(d.ids, id), append(d.rcs, rc)
}

func (d *disconnects) get() ([]string, []packets.ReasonCode) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.ids...), append([]packets.ReasonCode(nil), d.rcs...)
}

// TestTokensOverMQTT drives a broker with both Paho clients, the token as
// the password: the claim's ACL decides what is delivered and what
// subscriptions are granted; an expired or forged token is refused at
// CONNECT; when a token expires during the connection the Expirer asks
// for a disconnect with Not authorized (0x87), and until then the
// connection can no longer publish or receive.
func TestTokensOverMQTT(t *testing.T) {
	a, err := jwt.New(jwt.Config{Secret: secret, Logger: authtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	var dis disconnects
	exp := jwt.NewExpirer(dis.record)
	defer exp.Close()
	_, addr := authtest.StartTern(t, broker.WithAuthenticator(a), broker.WithAuthorizer(a), broker.WithHooks(exp))
	admin := token(t, gojwt.MapClaims{"sub": "admin", "exp": time.Now().Add(time.Hour).Unix(),
		"mqtt": map[string]any{"pub": []string{"#"}, "sub": []string{"#"}}})

	for _, v := range []authtest.Version{authtest.V311, authtest.V5} {
		t.Run("v"+v.String(), func(t *testing.T) {
			// 3.1.1 sends no password without a user name [MQTT-3.1.2-22].
			obs, _, err := authtest.Connect(v, addr, authtest.Login{ClientID: "obs", Username: "admin", Password: admin})
			if err != nil {
				t.Fatal(err)
			}
			defer obs.Close()
			if code, err := obs.Subscribe("#", 1); err != nil || code >= 0x80 {
				t.Fatalf("observer: 0x%02x %v", code, err)
			}
			// A device whose token lives two seconds.
			short := token(t, gojwt.MapClaims{"sub": "dev1", "exp": time.Now().Add(2 * time.Second).Unix(),
				"mqtt": map[string]any{"pub": []string{"devices/%u/out"}, "sub": []string{"devices/%u/in"}}})
			dev, _, err := authtest.Connect(v, addr, authtest.Login{ClientID: "dev1-" + v.String(), Username: "dev1", Password: short})
			if err != nil {
				t.Fatal(err)
			}
			defer dev.Close()
			if code, _ := dev.Subscribe("devices/dev1/in", 1); code >= 0x80 {
				t.Errorf("own inbox refused: 0x%02x", code)
			}
			if code, _ := dev.Subscribe("devices/+/in", 1); code < 0x80 {
				t.Errorf("everyone's inbox granted: 0x%02x", code)
			}
			if _, err := dev.Publish("devices/dev1/out", "reading", false); err != nil {
				t.Fatal(err)
			}
			if _, err := dev.Publish("devices/dev2/out", "forged", false); err != nil {
				t.Fatal(err)
			}
			if _, err := obs.Publish("sync", "sync-1", false); err != nil {
				t.Fatal(err)
			}
			got, err := authtest.Await(obs, "sync-1")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Payload != "reading" {
				t.Errorf("observer got %v, want only the reading", got)
			}
			if _, err := obs.Publish("devices/dev1/in", "cmd", false); err != nil {
				t.Fatal(err)
			}
			if _, err := authtest.Await(dev, "cmd"); err != nil {
				t.Fatal(err)
			}

			// The token expires: the Expirer asks for the disconnect.
			authtest.WaitFor(t, 5*time.Second, func() error {
				for _, id := range first(dis.get()) {
					if id == "dev1-"+v.String() {
						return nil
					}
				}
				return errors.New("no disconnect asked for dev1 yet")
			})
			ids, rcs := dis.get()
			if rcs[len(rcs)-1] != packets.NotAuthorized {
				t.Errorf("disconnect %v with %v, want Not authorized", ids, rcs)
			}
			// Until the broker can disconnect by id, the connection stays
			// but may neither publish nor receive.
			code, err := dev.Publish("devices/dev1/out", "late", false)
			if v == authtest.V5 && (err != nil || code != 0x87) {
				t.Errorf("publish after expiry: 0x%02x %v, want PUBACK 0x87", code, err)
			}
			if _, err := obs.Publish("devices/dev1/in", "late-cmd", false); err != nil {
				t.Fatal(err)
			}
			if _, err := obs.Publish("devices/dev1/in-sync", "sync-2", false); err != nil {
				t.Fatal(err)
			}
			got, err = authtest.Await(obs, "sync-2")
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range got {
				if m.Payload == "late" {
					t.Error("a publish after expiry was delivered")
				}
			}

			// Expired and forged tokens are refused at CONNECT.
			expired := token(t, gojwt.MapClaims{"sub": "dev1", "exp": time.Now().Add(-time.Second).Unix()})
			forged := admin[:len(admin)-4] + "AAAA"
			for name, pw := range map[string]string{"expired": expired, "forged": forged} {
				_, code, err := authtest.Connect(v, addr, authtest.Login{ClientID: "x", Username: "dev1", Password: pw})
				want := byte(4) // 3.1.1: bad user name or password
				if v == authtest.V5 {
					want = 0x86
				}
				if !errors.Is(err, authtest.ErrRefused) || code != want {
					t.Errorf("%s token: 0x%02x %v, want refused with 0x%02x", name, code, err, want)
				}
			}
		})
	}
	authtest.WaitFor(t, 5*time.Second, func() error {
		if n := exp.Armed(); n != 0 {
			return errors.New("timers still armed after every client left")
		}
		return nil
	})
}

func first[A, B any](a A, _ B) A { return a }
