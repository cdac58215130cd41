package jwt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth"
	"github.com/ternmq/broker/auth/internal/rules"
	"github.com/ternmq/broker/packets"
)

// Config says how tokens are verified. At least one key source (Secret,
// SecretFile, KeysFile, JWKSURL) is required.
type Config struct {
	Secret     []byte // HS256 shared secret
	SecretFile string // file holding the HS256 secret (trailing newline ignored)
	KeysFile   string // PEM public keys or certificates, or a JWKS document
	JWKSURL    string // http(s) URL of a JWKS document

	// Algorithms accepted; default HS256 when a secret is set plus RS256,
	// ES256 and EdDSA when public keys are. "none" is never accepted.
	Algorithms []string
	Issuer     string        // required "iss" when set
	Audience   string        // required in "aud" when set
	Leeway     time.Duration // clock skew allowed on exp, nbf, iat
	// AllowNoExpiry accepts tokens without "exp" (they never expire). By
	// default "exp" is required.
	AllowNoExpiry bool

	// UsernameClaim is the claim that must equal the MQTT user name, or
	// becomes it when the client sends none (default "sub"; "-" for none).
	UsernameClaim string
	// ACLClaim is the claim holding the client's ACL (default "mqtt";
	// "-" for none).
	ACLClaim string

	Refresh    time.Duration // re-read KeysFile and JWKSURL this often (default 1h)
	MinRefresh time.Duration // at most one refresh per this, for unknown key ids (default 1m)
	HTTPClient *http.Client  // default: a client with a 10 s timeout
	Logger     *slog.Logger  // default slog.Default()
}

// AttrToken is the ClientInfo.Attributes key of the client's *Token.
const AttrToken = "jwt.token"

// Token is what a verified token established about a client.
type Token struct {
	Subject string         // the user name claim ("" when absent)
	Expires time.Time      // zero when the token has no "exp"
	Claims  map[string]any // every claim, as decoded from JSON
	rules   *rules.Rules   // the ACL claim; nil when absent
}

// TokenOf returns the Token of a client this package authenticated, or
// nil.
func TokenOf(c *broker.ClientInfo) *Token {
	t, _ := c.Attributes[AttrToken].(*Token)
	return t
}

// Authenticator verifies tokens and authorizes their holders. It is a
// broker.Authenticator and a broker.Authorizer, safe for concurrent use.
// Close stops its key refresher.
type Authenticator struct {
	cfg      Config
	parser   *gojwt.Parser
	fallback broker.Authorizer
	now      func() time.Time

	secret   atomic.Pointer[keySet] // Secret and SecretFile
	fileKeys atomic.Pointer[keySet]
	urlKeys  atomic.Pointer[keySet]

	refreshMu   sync.Mutex // serialises refreshes
	lastRefresh time.Time  // guarded by refreshMu

	stop chan struct{}
	done chan struct{}
}

var (
	_ broker.Authenticator = (*Authenticator)(nil)
	_ broker.Authorizer    = (*Authenticator)(nil)
)

// Option configures New.
type Option func(*Authenticator)

// WithFallback sets the authorizer of tokens without the ACL claim (and
// of clients this Authenticator did not authenticate).
func WithFallback(a broker.Authorizer) Option { return func(x *Authenticator) { x.fallback = a } }

// withClock sets the time source; for tests.
func withClock(now func() time.Time) Option { return func(x *Authenticator) { x.now = now } }

// New loads the keys and, when KeysFile or JWKSURL is set, starts
// refreshing them every cfg.Refresh until Close.
func New(cfg Config, opts ...Option) (*Authenticator, error) {
	if cfg.Secret == nil && cfg.SecretFile == "" && cfg.KeysFile == "" && cfg.JWKSURL == "" {
		return nil, errors.New("jwt: no key: set a secret, a secret file, a keys file or a JWKS URL")
	}
	if cfg.JWKSURL != "" && !strings.HasPrefix(cfg.JWKSURL, "https://") && !strings.HasPrefix(cfg.JWKSURL, "http://") {
		return nil, fmt.Errorf("jwt: JWKS URL %q: want http:// or https://", cfg.JWKSURL)
	}
	if cfg.UsernameClaim == "" {
		cfg.UsernameClaim = "sub"
	}
	if cfg.ACLClaim == "" {
		cfg.ACLClaim = "mqtt"
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = time.Hour
	}
	if cfg.MinRefresh <= 0 {
		cfg.MinRefresh = time.Minute
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.Algorithms) == 0 {
		if cfg.Secret != nil || cfg.SecretFile != "" {
			cfg.Algorithms = append(cfg.Algorithms, "HS256")
		}
		if cfg.KeysFile != "" || cfg.JWKSURL != "" {
			cfg.Algorithms = append(cfg.Algorithms, "RS256", "ES256", "EdDSA")
		}
	}
	for _, a := range cfg.Algorithms {
		if m := gojwt.GetSigningMethod(a); m == nil || a == "none" {
			return nil, fmt.Errorf("jwt: unknown algorithm %q", a)
		}
	}
	a := &Authenticator{cfg: cfg, now: time.Now}
	for _, o := range opts {
		o(a)
	}
	popts := []gojwt.ParserOption{
		gojwt.WithValidMethods(cfg.Algorithms),
		gojwt.WithLeeway(cfg.Leeway),
		gojwt.WithTimeFunc(func() time.Time { return a.now() }),
		gojwt.WithIssuedAt(),
	}
	if !cfg.AllowNoExpiry {
		popts = append(popts, gojwt.WithExpirationRequired())
	}
	if cfg.Issuer != "" {
		popts = append(popts, gojwt.WithIssuer(cfg.Issuer))
	}
	if cfg.Audience != "" {
		popts = append(popts, gojwt.WithAudience(cfg.Audience))
	}
	a.parser = gojwt.NewParser(popts...)
	ctx, cancel := context.WithTimeout(context.Background(), cfg.HTTPClient.Timeout+time.Second)
	defer cancel()
	if err := a.load(ctx); err != nil {
		return nil, err
	}
	if cfg.KeysFile != "" || cfg.JWKSURL != "" {
		a.stop, a.done = make(chan struct{}), make(chan struct{})
		go a.refreshLoop()
	}
	return a, nil
}

// Close stops the key refresher.
func (a *Authenticator) Close() error {
	if a.stop != nil {
		close(a.stop)
		<-a.done
		a.stop = nil
	}
	return nil
}

// Reload reads the secret file and keys file and fetches the JWKS URL
// again; a source that fails keeps its previous keys, and the errors are
// returned joined.
func (a *Authenticator) Reload(ctx context.Context) error {
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	return a.loadLocked(ctx)
}

func (a *Authenticator) load(ctx context.Context) error {
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	return a.loadLocked(ctx)
}

// loadLocked reads every key source. Called with refreshMu held.
func (a *Authenticator) loadLocked(ctx context.Context) error {
	a.lastRefresh = a.now()
	var errs []error
	if a.cfg.Secret != nil || a.cfg.SecretFile != "" {
		secret := a.cfg.Secret
		if a.cfg.SecretFile != "" {
			b, err := os.ReadFile(a.cfg.SecretFile)
			if err != nil {
				errs = append(errs, fmt.Errorf("jwt: secret file: %w", err))
			}
			secret = bytes.TrimRight(b, "\r\n")
		}
		switch {
		case len(errs) > 0:
		case len(secret) < 32:
			errs = append(errs, errors.New("jwt: the HS256 secret is shorter than 32 bytes (RFC 7518 §3.2)"))
		default:
			ks := &keySet{}
			ks.add("", secret)
			a.secret.Store(ks)
		}
	}
	if a.cfg.KeysFile != "" {
		if ks, err := readKeyFile(a.cfg.KeysFile); err != nil {
			errs = append(errs, fmt.Errorf("jwt: keys file: %w", err))
		} else {
			a.fileKeys.Store(ks)
		}
	}
	if a.cfg.JWKSURL != "" {
		if ks, err := fetchKeys(ctx, a.cfg.HTTPClient, a.cfg.JWKSURL); err != nil {
			errs = append(errs, fmt.Errorf("jwt: JWKS URL: %w", err))
		} else {
			a.urlKeys.Store(ks)
		}
	}
	return errors.Join(errs...)
}

func (a *Authenticator) refreshLoop() {
	defer close(a.done)
	t := time.NewTicker(a.cfg.Refresh)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), a.cfg.HTTPClient.Timeout+time.Second)
			if err := a.Reload(ctx); err != nil {
				a.cfg.Logger.Warn("jwt: refreshing keys failed; the previous keys stay", "err", err)
			}
			cancel()
		}
	}
}

// refreshForUnknownKid reloads the keys if the last load is older than
// MinRefresh: a token signed with a key id not yet known may come from a
// rotation.
func (a *Authenticator) refreshForUnknownKid(ctx context.Context) {
	if a.cfg.KeysFile == "" && a.cfg.JWKSURL == "" {
		return
	}
	a.refreshMu.Lock()
	defer a.refreshMu.Unlock()
	if a.now().Sub(a.lastRefresh) < a.cfg.MinRefresh {
		return
	}
	if err := a.loadLocked(ctx); err != nil {
		a.cfg.Logger.Warn("jwt: refreshing keys for an unknown key id failed", "err", err)
	}
}

// candidates gathers the keys that may verify alg/kid.
func (a *Authenticator) candidates(alg, kid string) []gojwt.VerificationKey {
	var out []gojwt.VerificationKey
	for _, ks := range []*keySet{a.secret.Load(), a.fileKeys.Load(), a.urlKeys.Load()} {
		for _, k := range ks.candidates(alg, kid) {
			out = append(out, k)
		}
	}
	return out
}

// errBadToken refuses a token that does not verify.
var errBadToken = fmt.Errorf("jwt: invalid token: %w", packets.BadUserNameOrPassword)

// Authenticate verifies the password as a token. A password that is not
// shaped like a JWT gets auth.ErrUnknownUser.
func (a *Authenticator) Authenticate(ctx context.Context, c *broker.Credentials) error {
	if !looksLikeJWT(c.Password) {
		return auth.ErrUnknownUser
	}
	keyfunc := func(t *gojwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		alg := t.Method.Alg()
		keys := a.candidates(alg, kid)
		if len(keys) == 0 && kid != "" {
			a.refreshForUnknownKid(ctx)
			keys = a.candidates(alg, kid)
		}
		if len(keys) == 0 {
			return nil, fmt.Errorf("no %s key with id %q", alg, kid)
		}
		return gojwt.VerificationKeySet{Keys: keys}, nil
	}
	claims := gojwt.MapClaims{}
	if _, err := a.parser.ParseWithClaims(string(c.Password), claims, keyfunc); err != nil {
		return fmt.Errorf("%w: %v", errBadToken, err)
	}
	tok := &Token{Claims: claims}
	if exp, _ := claims.GetExpirationTime(); exp != nil {
		tok.Expires = exp.Time
	}
	if a.cfg.UsernameClaim != "-" {
		name, _ := claims[a.cfg.UsernameClaim].(string)
		switch {
		case c.Username != "" && name != "" && name != c.Username:
			return fmt.Errorf("%w: user name %q is not the token's %s", errBadToken, c.Username, a.cfg.UsernameClaim)
		case c.Username == "" && name != "":
			c.Username = name
		}
		tok.Subject = name
	}
	if a.cfg.ACLClaim != "-" {
		if raw, ok := claims[a.cfg.ACLClaim]; ok {
			r, err := compileClaim(a.cfg.ACLClaim, raw)
			if err != nil {
				return fmt.Errorf("jwt: %w: %w", err, packets.NotAuthorized)
			}
			tok.rules = r
		}
	}
	attrs := make(map[string]any, len(c.Attributes)+1)
	for k, v := range c.Attributes {
		attrs[k] = v
	}
	attrs[AttrToken] = tok
	c.Attributes = attrs
	return nil
}

// looksLikeJWT reports whether p is three base64url segments whose first
// decodes to a JSON object with an "alg".
func looksLikeJWT(p []byte) bool {
	if bytes.Count(p, []byte{'.'}) != 2 {
		return false
	}
	head, _, _ := bytes.Cut(p, []byte{'.'})
	raw := make([]byte, b64.DecodedLen(len(head)))
	n, err := b64.Decode(raw, head)
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	return json.Unmarshal(raw[:n], &h) == nil && h.Alg != ""
}

// compileClaim reads the ACL claim: an object of string lists under "pub"
// (or "publish"), "sub" (or "subscribe") and "deny".
func compileClaim(name string, raw any) (*rules.Rules, error) {
	obj, ok := raw.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("claim %q is not an object", name)
	}
	list := func(keys ...string) ([]string, error) {
		var out []string
		for _, k := range keys {
			v, ok := obj[k]
			if !ok {
				continue
			}
			arr, ok := v.([]any)
			if !ok {
				return nil, fmt.Errorf("claim %q: %q is not a list", name, k)
			}
			for _, e := range arr {
				s, ok := e.(string)
				if !ok {
					return nil, fmt.Errorf("claim %q: %q holds a non-string", name, k)
				}
				out = append(out, s)
			}
		}
		return out, nil
	}
	pub, err := list("pub", "publish")
	if err != nil {
		return nil, err
	}
	sub, err := list("sub", "subscribe")
	if err != nil {
		return nil, err
	}
	deny, err := list("deny")
	if err != nil {
		return nil, err
	}
	return rules.Compile("claim "+name, pub, sub, deny)
}

// Authorize decides for a token holder: nothing once the token has
// expired; else by the token's ACL claim; else by the fallback (denied
// without one, or allowed when ACLClaim is "-"). Clients this
// Authenticator did not authenticate go to the fallback (allowed without
// one).
func (a *Authenticator) Authorize(ctx context.Context, c *broker.ClientInfo, acc broker.Access) broker.Decision {
	tok := TokenOf(c)
	switch {
	case tok != nil && !tok.Expires.IsZero() && !a.now().Before(tok.Expires.Add(a.cfg.Leeway)):
		return broker.Deny()
	case tok != nil && tok.rules != nil:
		return tok.rules.Decide(c, acc)
	case a.fallback != nil:
		return a.fallback.Authorize(ctx, c, acc)
	case tok != nil && a.cfg.ACLClaim != "-":
		return broker.Deny()
	}
	return broker.Allow()
}
