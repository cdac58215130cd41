package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth"
	"github.com/ternmq/broker/packets"
)

// testKeys are generated once per test binary.
var testKeys = sync.OnceValue(func() (k struct {
	secret []byte
	rsa    *rsa.PrivateKey
	ec     *ecdsa.PrivateKey
	ed     ed25519.PrivateKey
	rsa2   *rsa.PrivateKey
}) {
	k.secret = []byte("0123456789abcdef0123456789abcdef")
	k.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
	k.rsa2, _ = rsa.GenerateKey(rand.Reader, 2048)
	k.ec, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, k.ed, _ = ed25519.GenerateKey(rand.Reader)
	return k
})

var quiet = slog.New(slog.DiscardHandler)

// sign makes a token; kid is set when not "".
func sign(t testing.TB, m gojwt.SigningMethod, key any, kid string, claims gojwt.MapClaims) string {
	t.Helper()
	tok := gojwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func pemFile(t *testing.T, keys ...any) string {
	t.Helper()
	var out []byte
	for _, k := range keys {
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...)
	}
	path := filepath.Join(t.TempDir(), "keys.pem")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// jwks renders public keys as a JWK Set, key ids as given.
func jwks(t testing.TB, keys map[string]any) []byte {
	t.Helper()
	var set []map[string]string
	for kid, k := range keys {
		j := map[string]string{"kid": kid, "use": "sig"}
		switch k := k.(type) {
		case *rsa.PublicKey:
			j["kty"], j["n"], j["e"] = "RSA", b64.EncodeToString(k.N.Bytes()), b64.EncodeToString(big.NewInt(int64(k.E)).Bytes())
		case *ecdsa.PublicKey:
			raw, _ := k.Bytes()
			j["kty"], j["crv"], j["x"], j["y"] = "EC", "P-256", b64.EncodeToString(raw[1:33]), b64.EncodeToString(raw[33:])
		case ed25519.PublicKey:
			j["kty"], j["crv"], j["x"] = "OKP", "Ed25519", b64.EncodeToString(k)
		case []byte:
			j["kty"], j["k"] = "oct", b64.EncodeToString(k)
		}
		set = append(set, j)
	}
	b, err := json.Marshal(map[string]any{"keys": set})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func creds(user, pw string) *broker.Credentials {
	return &broker.Credentials{ClientInfo: broker.ClientInfo{ID: "dev1", Username: user}, Password: []byte(pw)}
}

func valid(extra gojwt.MapClaims) gojwt.MapClaims {
	c := gojwt.MapClaims{"sub": "ann", "exp": time.Now().Add(time.Hour).Unix(), "iss": "https://idp.example", "aud": "tern"}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// TestAuthenticateVerifiesTokens: the four algorithms, each claim check,
// and the attacks the library and the key typing must stop.
func TestAuthenticateVerifiesTokens(t *testing.T) {
	k := testKeys()
	a, err := New(Config{
		Secret:   k.secret,
		KeysFile: pemFile(t, &k.rsa.PublicKey, &k.ec.PublicKey, k.ed.Public()),
		Issuer:   "https://idp.example",
		Audience: "tern",
		Logger:   quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	rsaPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: must(x509.MarshalPKIXPublicKey(&k.rsa.PublicKey))})
	now := time.Now()
	cases := []struct {
		name string
		user string
		tok  string
		want error // nil: accepted
	}{
		{"HS256", "", sign(t, gojwt.SigningMethodHS256, k.secret, "", valid(nil)), nil},
		{"RS256", "", sign(t, gojwt.SigningMethodRS256, k.rsa, "", valid(nil)), nil},
		{"ES256", "", sign(t, gojwt.SigningMethodES256, k.ec, "", valid(nil)), nil},
		{"EdDSA", "", sign(t, gojwt.SigningMethodEdDSA, k.ed, "", valid(nil)), nil},
		{"user name equal to sub", "ann", sign(t, gojwt.SigningMethodHS256, k.secret, "", valid(nil)), nil},
		{"user name not sub", "bob", sign(t, gojwt.SigningMethodHS256, k.secret, "", valid(nil)), packets.BadUserNameOrPassword},
		{"expired", "", sign(t, gojwt.SigningMethodES256, k.ec, "", valid(gojwt.MapClaims{"exp": now.Add(-time.Minute).Unix()})), packets.BadUserNameOrPassword},
		{"not yet valid", "", sign(t, gojwt.SigningMethodES256, k.ec, "", valid(gojwt.MapClaims{"nbf": now.Add(time.Hour).Unix()})), packets.BadUserNameOrPassword},
		{"issued in the future", "", sign(t, gojwt.SigningMethodES256, k.ec, "", valid(gojwt.MapClaims{"iat": now.Add(time.Hour).Unix()})), packets.BadUserNameOrPassword},
		{"no exp", "", sign(t, gojwt.SigningMethodES256, k.ec, "", valid(gojwt.MapClaims{"exp": nil})), packets.BadUserNameOrPassword},
		{"wrong issuer", "", sign(t, gojwt.SigningMethodES256, k.ec, "", valid(gojwt.MapClaims{"iss": "https://evil.example"})), packets.BadUserNameOrPassword},
		{"wrong audience", "", sign(t, gojwt.SigningMethodES256, k.ec, "", valid(gojwt.MapClaims{"aud": []string{"other"}})), packets.BadUserNameOrPassword},
		{"audience in a list", "", sign(t, gojwt.SigningMethodES256, k.ec, "", valid(gojwt.MapClaims{"aud": []string{"other", "tern"}})), nil},
		{"signed by another key", "", sign(t, gojwt.SigningMethodRS256, k.rsa2, "", valid(nil)), packets.BadUserNameOrPassword},
		{"alg none", "", sign(t, gojwt.SigningMethodNone, gojwt.UnsafeAllowNoneSignatureType, "", valid(nil)), packets.BadUserNameOrPassword},
		{"HS256 keyed with the RSA public key (alg confusion)", "", sign(t, gojwt.SigningMethodHS256, rsaPEM, "", valid(nil)), packets.BadUserNameOrPassword},
		{"RS384 not allowed", "", sign(t, gojwt.SigningMethodRS384, k.rsa, "", valid(nil)), packets.BadUserNameOrPassword},
		{"tampered payload", "", tamper(sign(t, gojwt.SigningMethodHS256, k.secret, "", valid(nil))), packets.BadUserNameOrPassword},
		{"bad ACL claim", "", sign(t, gojwt.SigningMethodHS256, k.secret, "", valid(gojwt.MapClaims{"mqtt": map[string]any{"pub": "a/#"}})), packets.NotAuthorized},
		{"bad filter in the ACL claim", "", sign(t, gojwt.SigningMethodHS256, k.secret, "", valid(gojwt.MapClaims{"mqtt": map[string]any{"sub": []string{"a/#/b"}}})), packets.NotAuthorized},
		{"a plain password", "ann", "hunter2", auth.ErrUnknownUser},
		{"two dots, not a JWT", "ann", "a.b.c", auth.ErrUnknownUser},
		{"no password", "ann", "", auth.ErrUnknownUser},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cr := creds(c.user, c.tok)
			err := a.Authenticate(context.Background(), cr)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Authenticate: %v, want %v", err, c.want)
			}
			if err == nil {
				if cr.Username != "ann" {
					t.Errorf("user name %q, want ann from sub", cr.Username)
				}
				if tok := TokenOf(&cr.ClientInfo); tok == nil || tok.Expires.IsZero() {
					t.Errorf("token attribute %+v", tok)
				}
			}
			if err != nil && strings.Contains(err.Error(), c.tok) && c.tok != "" {
				t.Errorf("the error quotes the token: %v", err)
			}
		})
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// tamper changes the payload of a token, keeping its signature.
func tamper(tok string) string {
	parts := strings.Split(tok, ".")
	payload, _ := b64.DecodeString(parts[1])
	payload = []byte(strings.Replace(string(payload), `"ann"`, `"adm"`, 1))
	parts[1] = b64.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestAllowNoExpiry(t *testing.T) {
	k := testKeys()
	a, err := New(Config{Secret: k.secret, AllowNoExpiry: true, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, gojwt.SigningMethodHS256, k.secret, "", gojwt.MapClaims{"sub": "x"})
	if err := a.Authenticate(context.Background(), creds("", tok)); err != nil {
		t.Fatal(err)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, c := range map[string]Config{
		"no key":          {},
		"short secret":    {Secret: []byte("short")},
		"alg none":        {Secret: make([]byte, 32), Algorithms: []string{"none"}},
		"unknown alg":     {Secret: make([]byte, 32), Algorithms: []string{"XS1"}},
		"ftp URL":         {JWKSURL: "ftp://x/jwks"},
		"missing file":    {KeysFile: "/nonexistent/keys.pem"},
		"private key PEM": {KeysFile: writeTemp(t, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")},
	} {
		t.Run(name, func(t *testing.T) {
			c.Logger = quiet
			if a, err := New(c); err == nil {
				a.Close()
				t.Fatal("no error")
			}
		})
	}
}

func writeTemp(t *testing.T, s string) string {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestJWKSFileAndKeyIDs: keys from a JWKS file are chosen by kid; a token
// naming an unknown kid is refused; Reload picks up a rotated file.
func TestJWKSFileAndKeyIDs(t *testing.T) {
	k := testKeys()
	path := writeTemp(t, string(jwks(t, map[string]any{"r1": &k.rsa.PublicKey, "e1": &k.ec.PublicKey, "o1": k.ed.Public(), "h1": k.secret})))
	a, err := New(Config{KeysFile: path, Algorithms: []string{"RS256", "ES256", "EdDSA", "HS256"}, Logger: quiet, MinRefresh: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ok := []string{
		sign(t, gojwt.SigningMethodRS256, k.rsa, "r1", valid(nil)),
		sign(t, gojwt.SigningMethodES256, k.ec, "e1", valid(nil)),
		sign(t, gojwt.SigningMethodEdDSA, k.ed, "o1", valid(nil)),
		sign(t, gojwt.SigningMethodHS256, k.secret, "h1", valid(nil)),
		sign(t, gojwt.SigningMethodES256, k.ec, "", valid(nil)), // no kid: any fitting key
	}
	for i, tok := range ok {
		if err := a.Authenticate(context.Background(), creds("", tok)); err != nil {
			t.Errorf("token %d: %v", i, err)
		}
	}
	rotated := sign(t, gojwt.SigningMethodRS256, k.rsa2, "r2", valid(nil))
	if err := a.Authenticate(context.Background(), creds("", rotated)); err == nil {
		t.Fatal("a token of an unknown kid was accepted")
	}
	if err := os.WriteFile(path, jwks(t, map[string]any{"r2": &k.rsa2.PublicKey}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := a.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := a.Authenticate(context.Background(), creds("", rotated)); err != nil {
		t.Errorf("after Reload: %v", err)
	}
	if err := a.Authenticate(context.Background(), creds("", ok[0])); err == nil {
		t.Error("a key removed from the file still verifies")
	}
}

// TestJWKSURLRefreshesOnUnknownKid: a token signed with a key the
// identity provider just published is accepted once the JWKS is fetched
// again, at most once per MinRefresh.
func TestJWKSURLRefreshesOnUnknownKid(t *testing.T) {
	k := testKeys()
	var mu sync.Mutex
	doc := jwks(t, map[string]any{"k1": &k.ec.PublicKey})
	fetches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		fetches++
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(doc)
	}))
	defer srv.Close()
	clock := time.Now()
	var clockMu sync.Mutex
	now := func() time.Time { clockMu.Lock(); defer clockMu.Unlock(); return clock }
	a, err := New(Config{JWKSURL: srv.URL, MinRefresh: time.Minute, Logger: quiet}, withClock(now))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Authenticate(context.Background(), creds("", sign(t, gojwt.SigningMethodES256, k.ec, "k1", valid(nil)))); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	doc = jwks(t, map[string]any{"k1": &k.ec.PublicKey, "k2": &k.rsa2.PublicKey})
	mu.Unlock()
	newTok := sign(t, gojwt.SigningMethodRS256, k.rsa2, "k2", valid(nil))
	if err := a.Authenticate(context.Background(), creds("", newTok)); err == nil {
		t.Fatal("accepted before MinRefresh passed")
	}
	clockMu.Lock()
	clock = clock.Add(2 * time.Minute)
	clockMu.Unlock()
	if err := a.Authenticate(context.Background(), creds("", newTok)); err != nil {
		t.Fatalf("after MinRefresh: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if fetches != 2 {
		t.Errorf("%d fetches, want 2 (start, then one refresh)", fetches)
	}
}

// TestAuthorizeFromClaim: the ACL claim decides; an expired token decides
// nothing; a token without the claim goes to the fallback or is denied.
func TestAuthorizeFromClaim(t *testing.T) {
	k := testKeys()
	clock := time.Now()
	a, err := New(Config{Secret: k.secret, Logger: quiet}, withClock(func() time.Time { return clock }))
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, gojwt.SigningMethodHS256, k.secret, "", gojwt.MapClaims{
		"sub": "ann", "exp": clock.Add(time.Hour).Unix(),
		"mqtt": map[string]any{"pub": []string{"a/#", "users/%u/#"}, "sub": []string{"b/+"}, "deny": []string{"a/secret"}},
	})
	cr := creds("", tok)
	if err := a.Authenticate(context.Background(), cr); err != nil {
		t.Fatal(err)
	}
	c := &cr.ClientInfo
	do := func(act broker.Action, topic string) bool {
		return a.Authorize(context.Background(), c, broker.Access{Action: act, Topic: topic}).Allowed()
	}
	for _, x := range []struct {
		act   broker.Action
		topic string
		want  bool
	}{
		{broker.ActionPublish, "a/x", true},
		{broker.ActionPublish, "a/secret", false},
		{broker.ActionPublish, "users/ann/x", true},
		{broker.ActionPublish, "b/x", false},
		{broker.ActionSubscribe, "b/+", true},
		{broker.ActionSubscribe, "b/#", false},
		{broker.ActionRead, "b/x", true},
		{broker.ActionRead, "a/x", false},
	} {
		if got := do(x.act, x.topic); got != x.want {
			t.Errorf("%s %s: %v, want %v", x.act, x.topic, got, x.want)
		}
	}
	clock = clock.Add(2 * time.Hour)
	if do(broker.ActionPublish, "a/x") || do(broker.ActionRead, "b/x") {
		t.Error("an expired token still authorizes")
	}

	noACL := creds("", sign(t, gojwt.SigningMethodHS256, k.secret, "", gojwt.MapClaims{"sub": "x", "exp": clock.Add(time.Hour).Unix()}))
	if err := a.Authenticate(context.Background(), noACL); err != nil {
		t.Fatal(err)
	}
	if a.Authorize(context.Background(), &noACL.ClientInfo, broker.Access{Action: broker.ActionRead, Topic: "z"}).Allowed() {
		t.Error("a token without the ACL claim and no fallback: allowed")
	}
}

// TestJWKSURLRefreshedPeriodically: the refresher fetches every Refresh
// and stops with Close.
func TestJWKSURLRefreshedPeriodically(t *testing.T) {
	k := testKeys()
	doc := jwks(t, map[string]any{"k1": &k.ec.PublicKey})
	var mu sync.Mutex
	fetches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetches++
		mu.Unlock()
		_, _ = w.Write(doc)
	}))
	defer srv.Close()
	count := func() int { mu.Lock(); defer mu.Unlock(); return fetches }
	a, err := New(Config{JWKSURL: srv.URL, Refresh: 20 * time.Millisecond, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for count() < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("%d fetches in 5 s with Refresh 20ms", count())
		}
		time.Sleep(5 * time.Millisecond)
	}
	a.Close()
	after := count()
	// Close waited for the refresher: a fetch after it would be a leak.
	// Poll a few refresh periods for one.
	for range 10 {
		time.Sleep(10 * time.Millisecond)
		if count() != after {
			t.Fatalf("fetched after Close")
		}
	}
}
