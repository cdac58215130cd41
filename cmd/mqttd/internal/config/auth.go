package config

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ternmq/broker/auth/passwd"
	"github.com/ternmq/broker/topics"
)

// Auth is the "auth:" block: who may connect and what they may do. The
// seed architecture's spelling (type, users) and Mosquitto's names for its
// files (password_file, acl_file, allow_anonymous) can be used together:
//
//	auth:
//	  type: password                 # none (the default), password, jwt
//	  password_file: /etc/mosquitto/passwd
//	  acl_file: /etc/mosquitto/acl
//	  users:
//	    - username: admin
//	      password: ${ADMIN_PASSWORD}  # plain, or a $7$/$6$/bcrypt/argon2id hash
//	      acl: {publish: ["#"], subscribe: ["#"]}
//
// A client is checked against users, then password_file, then (type jwt)
// its token: the first that knows the user name decides. A users entry
// with an acl is authorized by it; every other client (password_file
// users, users entries without acl, anonymous clients, tokens without
// their ACL claim) by acl_file, or else by the acl block, or else may do
// everything.
type Auth struct {
	// Type is none (no authentication: every client connects; the
	// default), password (users and/or password_file) or jwt (a token as
	// the password; users and password_file may be kept beside it).
	// custom is for programs that embed the broker: mqttd has none.
	Type string `yaml:"type"`
	// AllowAnonymous lets clients without a user name connect (with type
	// password or jwt); default false, as in Mosquitto 2.
	AllowAnonymous *bool `yaml:"allow_anonymous"`
	// PasswordFile is a Mosquitto password file (mosquitto_passwd).
	PasswordFile string `yaml:"password_file"`
	// ACLFile is a Mosquitto ACL file.
	ACLFile string     `yaml:"acl_file"`
	Users   []AuthUser `yaml:"users"`
	// ACL applies to every client without an ACL of its own, when there
	// is no acl_file.
	ACL      *ACL         `yaml:"acl"`
	JWT      *JWT         `yaml:"jwt"`
	Throttle AuthThrottle `yaml:"throttle"`
}

// AuthUser is one entry of auth.users.
type AuthUser struct {
	Username string `yaml:"username"`
	Password string `yaml:"password"`
	ACL      *ACL   `yaml:"acl"`
}

// ACL lists topic filters; %u is the user name, %c the client id.
type ACL struct {
	Publish   []string `yaml:"publish"`   // topics the client may publish to
	Subscribe []string `yaml:"subscribe"` // filters it may subscribe to; topics it may receive
	Deny      []string `yaml:"deny"`      // refused for all three, before the grants
}

// JWT configures tokens as passwords (auth/jwt).
type JWT struct {
	Secret        string        `yaml:"secret"`      // HS256 shared secret, 32 bytes or more: write ${JWT_SECRET}
	SecretFile    string        `yaml:"secret_file"` // or a file holding it
	KeysFile      string        `yaml:"keys_file"`   // PEM public keys or certificates, or a JWKS document
	JWKSURL       string        `yaml:"jwks_url"`    // http(s) URL of a JWKS
	Algorithms    []string      `yaml:"algorithms"`  // default: HS256 with a secret; RS256, ES256, EdDSA with keys
	Issuer        string        `yaml:"issuer"`      // required iss
	Audience      string        `yaml:"audience"`    // required in aud
	Leeway        time.Duration `yaml:"leeway"`      // clock skew allowed
	AllowNoExpiry bool          `yaml:"allow_no_expiry"`
	UsernameClaim string        `yaml:"username_claim"` // default sub; "-" for none
	ACLClaim      string        `yaml:"acl_claim"`      // default mqtt; "-" for none
	Refresh       time.Duration `yaml:"refresh"`        // re-read keys_file and jwks_url this often (default 1h)
}

// AuthThrottle slows down an address after repeated authentication
// failures (auth.Throttle); zero values take its defaults.
type AuthThrottle struct {
	Enabled  *bool         `yaml:"enabled"`   // default true
	After    int           `yaml:"after"`     // failures allowed first (default 5)
	Delay    time.Duration `yaml:"delay"`     // first delay, doubling (default 1s)
	MaxDelay time.Duration `yaml:"max_delay"` // (default 30s)
	Forget   time.Duration `yaml:"forget"`    // an address quiet this long starts afresh (default 10m)
}

// authTypes are the accepted values of auth.type.
var authTypes = []string{"none", "password", "jwt", "custom"}

// jwtAlgorithms are the accepted values of auth.jwt.algorithms.
var jwtAlgorithms = []string{"HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}

func (d *decoder) auth(a *Auth) {
	a.Type = strings.ToLower(a.Type)
	hasPasswords := len(a.Users) > 0 || a.PasswordFile != ""
	switch a.Type {
	case "", "none":
		for _, k := range []struct {
			key string
			set bool
		}{{"users", len(a.Users) > 0}, {"password_file", a.PasswordFile != ""}, {"jwt", a.JWT != nil}, {"allow_anonymous", a.AllowAnonymous != nil}} {
			if k.set {
				d.invalidNear("auth."+k.key, "auth.type", "is set but auth.type is none (every client connects): set type password or jwt")
			}
		}
	case "password":
		if !hasPasswords {
			d.invalidNear("auth.users", "auth.type", "auth.type password needs users or a password_file")
		}
		if a.JWT != nil {
			d.invalid("auth.jwt", "is set but auth.type is password: set type jwt to accept tokens (users and password_file are kept)")
		}
	case "jwt":
		if a.JWT == nil {
			d.invalidNear("auth.jwt", "auth.type", "is required when auth.type is jwt")
		}
	case "custom":
		d.invalid("auth.type", "custom authentication is for programs embedding the broker (broker.WithAuthenticator): mqttd has none built in")
	default:
		d.invalid("auth.type", "unknown type %q (one of: %s)", a.Type, strings.Join(authTypes, ", "))
	}
	if a.ACLFile != "" && a.ACL != nil {
		d.invalid("auth.acl", "is set beside auth.acl_file: use one (acl_file takes the ACL of every client without one of its own)")
	}
	names := make(map[string]int)
	for i, u := range a.Users {
		p := fmt.Sprintf("auth.users[%d]", i)
		if u.Username == "" {
			d.invalidNear(p+".username", p, "is required")
		} else if j, dup := names[u.Username]; dup {
			d.invalid(p+".username", "%q is also auth.users[%d]", u.Username, j)
		}
		names[u.Username] = i
		switch {
		case u.Password == "":
			d.invalidNear(p+".password", p, "is required (plain, ${ENV} or a hash)")
		case passwd.IsHash(u.Password):
			if _, err := passwd.Parse(u.Password); err != nil {
				d.invalid(p+".password", "looks like a hash but: %v", err)
			}
		}
		d.acl(p+".acl", u.ACL)
	}
	d.acl("auth.acl", a.ACL)
	if a.JWT != nil {
		d.jwt(a.JWT)
	}
	t := a.Throttle
	d.nonNegative("auth.throttle", []string{"delay", "max_delay", "forget"}, t.Delay, t.MaxDelay, t.Forget)
	if t.After < 0 {
		d.invalid("auth.throttle.after", "must not be negative (0: the default, 5)")
	}
}

// acl checks every filter of an ACL block (with %u and %c standing for one
// level each).
func (d *decoder) acl(path string, a *ACL) {
	if a == nil {
		return
	}
	for _, l := range []struct {
		key  string
		list []string
	}{{"publish", a.Publish}, {"subscribe", a.Subscribe}, {"deny", a.Deny}} {
		key := l.key
		for i, f := range l.list {
			probe := strings.NewReplacer("%u", "u", "%c", "c").Replace(f)
			if err := topics.ValidateFilter([]byte(probe)); err != nil || strings.HasPrefix(probe, "$share/") {
				d.invalid(fmt.Sprintf("%s.%s[%d]", path, key, i), "%q is not a topic filter", f)
			}
		}
	}
}

func (d *decoder) jwt(j *JWT) {
	if j.Secret == "" && j.SecretFile == "" && j.KeysFile == "" && j.JWKSURL == "" {
		d.invalidNear("auth.jwt.secret", "auth.jwt", "a key is required: secret, secret_file, keys_file or jwks_url")
	}
	if j.Secret != "" && j.SecretFile != "" {
		d.invalid("auth.jwt.secret_file", "is set beside auth.jwt.secret: use one")
	}
	if j.Secret != "" && len(j.Secret) < 32 {
		d.invalid("auth.jwt.secret", "is %d bytes: an HS256 secret needs at least 32 (RFC 7518 §3.2)", len(j.Secret))
	}
	if j.JWKSURL != "" && !strings.HasPrefix(j.JWKSURL, "https://") && !strings.HasPrefix(j.JWKSURL, "http://") {
		d.invalid("auth.jwt.jwks_url", "%q: want an http:// or https:// URL", j.JWKSURL)
	}
	for i, alg := range j.Algorithms {
		if !slices.Contains(jwtAlgorithms, alg) {
			d.invalid(fmt.Sprintf("auth.jwt.algorithms[%d]", i), "unknown algorithm %q (one of: %s)", alg, strings.Join(jwtAlgorithms, ", "))
		}
	}
	d.nonNegative("auth.jwt", []string{"leeway", "refresh"}, j.Leeway, j.Refresh)
}

// nonNegative checks durations named keys under path.
func (d *decoder) nonNegative(path string, keys []string, vals ...time.Duration) {
	for i, v := range vals {
		if v < 0 {
			d.invalid(path+"."+keys[i], "must not be negative")
		}
	}
}
