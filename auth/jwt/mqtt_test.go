package jwt_test

import (
	"errors"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth/jwt"
	"github.com/ternmq/broker/internal/authtest"
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

// TestTokensOverMQTT drives a broker with both Paho clients, the token as
// the password: the claim's ACL decides what is delivered and what
// subscriptions are granted; an expired or forged token is refused at
// CONNECT; when a token expires during the connection the Expirer ends
// it (MQTT 5: DISCONNECT 0x87 first), and leaves alone a connection that
// took the client id over with another token.
func TestTokensOverMQTT(t *testing.T) {
	a, err := jwt.New(jwt.Config{Secret: secret, Logger: authtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	exp := jwt.NewExpirer(authtest.Quiet())
	defer exp.Close()
	b, addr := authtest.StartTern(t, broker.WithAuthenticator(a), broker.WithAuthorizer(a), broker.WithHooks(exp))
	exp.Attach(b)
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
			shortClaims := func(sub string) gojwt.MapClaims {
				return gojwt.MapClaims{"sub": sub, "exp": time.Now().Add(2 * time.Second).Unix(),
					"mqtt": map[string]any{"pub": []string{"devices/%u/out"}, "sub": []string{"devices/%u/in"}}}
			}
			devID := "dev1-" + v.String()
			dev, _, err := authtest.Connect(v, addr, authtest.Login{ClientID: devID, Username: "dev1", Password: token(t, shortClaims("dev1"))})
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

			// A second device connects with a short token, then the same
			// client id comes back with a long one: the takeover must
			// survive the first token's expiry.
			twinID := "twin-" + v.String()
			twin, _, err := authtest.Connect(v, addr, authtest.Login{ClientID: twinID, Username: "dev2", Password: token(t, shortClaims("dev2"))})
			if err != nil {
				t.Fatal(err)
			}
			defer twin.Close()
			long := token(t, gojwt.MapClaims{"sub": "dev2", "exp": time.Now().Add(time.Hour).Unix(),
				"mqtt": map[string]any{"pub": []string{"devices/%u/out"}, "sub": []string{"devices/%u/in"}}})
			twin2, _, err := authtest.Connect(v, addr, authtest.Login{ClientID: twinID, Username: "dev2", Password: long})
			if err != nil {
				t.Fatal(err)
			}
			defer twin2.Close()

			// The token expires: the connection ends.
			select {
			case <-dev.Lost():
			case <-time.After(5 * time.Second):
				t.Fatal("the connection outlived its token by 3 s")
			}
			if v == authtest.V5 {
				authtest.WaitFor(t, 2*time.Second, func() error {
					if code, ok := dev.DisconnectCode(); !ok || code != 0x87 {
						return errors.New("no DISCONNECT 0x87 received")
					}
					return nil
				})
			}
			if _, err := twin2.Publish("devices/dev2/out", "still-here", false); err != nil {
				t.Errorf("the takeover connection: %v", err)
			}
			if got, err := authtest.Await(obs, "still-here"); err != nil {
				t.Errorf("the takeover connection was ended with the old token: %v %v", got, err)
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
}

// TestExpiredTokenAuthorizesNothing: without an Expirer attached (or
// before it acts), a connection whose token expired may neither publish
// nor receive.
func TestExpiredTokenAuthorizesNothing(t *testing.T) {
	a, err := jwt.New(jwt.Config{Secret: secret, Logger: authtest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	_, addr := authtest.StartTern(t, broker.WithAuthenticator(a), broker.WithAuthorizer(a))
	tok := token(t, gojwt.MapClaims{"sub": "d", "exp": time.Now().Add(time.Second).Unix(),
		"mqtt": map[string]any{"pub": []string{"t/#"}, "sub": []string{"t/#"}}})
	c, _, err := authtest.Connect(authtest.V5, addr, authtest.Login{ClientID: "d", Password: tok})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if code, err := c.Subscribe("t/#", 1); err != nil || code >= 0x80 {
		t.Fatalf("subscribe: 0x%02x %v", code, err)
	}
	authtest.WaitFor(t, 5*time.Second, func() error {
		if code, err := c.Publish("t/x", "x", false); err != nil || code != 0x87 {
			return errors.New("publishes still accepted")
		}
		return nil
	})
}
