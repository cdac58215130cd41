package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// seedAuth is the auth block of the seed architecture's example, verbatim.
const seedAuth = `
auth:
  type: password  # none, password, jwt, custom
  users:
    - username: admin
      password: ${ADMIN_PASSWORD}
      acl:
        publish: ["#"]
        subscribe: ["#"]
`

func TestAuthSeedBlock(t *testing.T) {
	c, err := Parse("seed.yaml", []byte(seedAuth), env(map[string]string{"ADMIN_PASSWORD": "pa$$word"}))
	if err != nil {
		t.Fatal(err)
	}
	want := Auth{Type: "password", Users: []AuthUser{{
		Username: "admin", Password: "pa$$word",
		ACL: &ACL{Publish: []string{"#"}, Subscribe: []string{"#"}},
	}}}
	if diff := cmp.Diff(want, c.Auth); diff != "" {
		t.Errorf("auth (-want +got):\n%s", diff)
	}
}

func TestAuthEveryKey(t *testing.T) {
	const file = `
auth:
  type: JWT
  allow_anonymous: true
  password_file: /etc/mosquitto/passwd
  acl_file: /etc/mosquitto/acl
  users:
    - username: svc
      password: $7$101$4NA3g3qHpoFzt+K9$98bHccj/v7mcFIcbm2oxa7PmtNGIcx9qSL2kvY82LG7NFw+F+PCZlafs191ge8rLCAX/m9m/dHeY3nQWp9yV9g==
      acl: {publish: ["svc/%c/#"], subscribe: ["cmd/%u/+"], deny: ["svc/%c/secret"]}
  jwt:
    secret_file: /run/secrets/jwt
    keys_file: /etc/tern/jwks.json
    jwks_url: https://idp.example/.well-known/jwks.json
    algorithms: [RS256, EdDSA]
    issuer: https://idp.example
    audience: tern
    leeway: 30s
    allow_no_expiry: true
    username_claim: preferred_username
    acl_claim: https://tern.example/mqtt
    refresh: 15m
  throttle:
    enabled: false
    after: 3
    delay: 500ms
    max_delay: 5s
    forget: 1h
`
	c, err := Parse("tern.yaml", []byte(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	yes, no := true, false
	want := Auth{
		Type: "jwt", AllowAnonymous: &yes,
		PasswordFile: "/etc/mosquitto/passwd", ACLFile: "/etc/mosquitto/acl",
		Users: []AuthUser{{
			Username: "svc",
			Password: "$7$101$4NA3g3qHpoFzt+K9$98bHccj/v7mcFIcbm2oxa7PmtNGIcx9qSL2kvY82LG7NFw+F+PCZlafs191ge8rLCAX/m9m/dHeY3nQWp9yV9g==",
			ACL:      &ACL{Publish: []string{"svc/%c/#"}, Subscribe: []string{"cmd/%u/+"}, Deny: []string{"svc/%c/secret"}},
		}},
		JWT: &JWT{
			SecretFile: "/run/secrets/jwt", KeysFile: "/etc/tern/jwks.json", JWKSURL: "https://idp.example/.well-known/jwks.json",
			Algorithms: []string{"RS256", "EdDSA"}, Issuer: "https://idp.example", Audience: "tern",
			Leeway: 30 * time.Second, AllowNoExpiry: true, UsernameClaim: "preferred_username",
			ACLClaim: "https://tern.example/mqtt", Refresh: 15 * time.Minute,
		},
		Throttle: AuthThrottle{Enabled: &no, After: 3, Delay: 500 * time.Millisecond, MaxDelay: 5 * time.Second, Forget: time.Hour},
	}
	if diff := cmp.Diff(want, c.Auth); diff != "" {
		t.Errorf("auth (-want +got):\n%s", diff)
	}
}

// TestAuthPahoSubscribeFailureInYAML: the refusal the Paho suite's
// test_subscribe_failure expects, written in YAML for its anonymous
// client.
func TestAuthPahoSubscribeFailureInYAML(t *testing.T) {
	c, err := Parse("tern.yaml", []byte(`
auth:
  acl:
    publish: ["#"]
    subscribe: ["#"]
    deny: [test/nosubscribe]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Auth.Type != "" || c.Auth.ACL == nil || c.Auth.ACL.Deny[0] != "test/nosubscribe" {
		t.Errorf("auth %+v", c.Auth)
	}
}

func TestAuthErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"unknown type", "auth:\n  type: ldap\n",
			[]string{`line 2: auth.type: unknown type "ldap" (one of: none, password, jwt, custom)`}},
		{"custom", "auth:\n  type: custom\n",
			[]string{`line 2: auth.type: custom authentication is for programs embedding the broker`}},
		{"password without users", "auth:\n  type: password\n",
			[]string{`line 2: auth.users: auth.type password needs users or a password_file`}},
		{"users with type none", "auth:\n  users:\n    - {username: a, password: b}\n",
			[]string{`line 2: auth.users: is set but auth.type is none`}},
		{"jwt with type password", "auth:\n  type: password\n  password_file: p\n  jwt:\n    secret: ${S}\n",
			[]string{`line 4: auth.jwt: is set but auth.type is password`}},
		{"jwt without block", "auth:\n  type: jwt\n",
			[]string{`line 2: auth.jwt: is required when auth.type is jwt`}},
		{"jwt without key", "auth:\n  type: jwt\n  jwt:\n    issuer: x\n",
			[]string{`line 3: auth.jwt.secret: a key is required`}},
		{"short secret", "auth:\n  type: jwt\n  jwt:\n    secret: short\n",
			[]string{`line 4: auth.jwt.secret: is 5 bytes`}},
		{"unknown algorithm", "auth:\n  type: jwt\n  jwt:\n    keys_file: k\n    algorithms: [RS256, none]\n",
			[]string{`line 5: auth.jwt.algorithms[1]: unknown algorithm "none"`}},
		{"bad jwks url", "auth:\n  type: jwt\n  jwt:\n    jwks_url: idp.example/jwks\n",
			[]string{`line 4: auth.jwt.jwks_url: "idp.example/jwks": want an http:// or https:// URL`}},
		{"user without password", "auth:\n  type: password\n  users:\n    - username: a\n",
			[]string{`line 4: auth.users[0].password: is required`}},
		{"user without name", "auth:\n  type: password\n  users:\n    - password: x\n",
			[]string{`line 4: auth.users[0].username: is required`}},
		{"duplicate user", "auth:\n  type: password\n  users:\n    - {username: a, password: x}\n    - {username: a, password: y}\n",
			[]string{`line 5: auth.users[1].username: "a" is also auth.users[0]`}},
		{"broken hash", "auth:\n  type: password\n  users:\n    - username: a\n      password: $7$0$abc$def\n",
			[]string{`line 5: auth.users[0].password: looks like a hash but`}},
		{"bad filter", "auth:\n  type: password\n  users:\n    - username: a\n      password: x\n      acl:\n        subscribe: [ok/#, \"a/#/b\"]\n",
			[]string{`line 7: auth.users[0].acl.subscribe[1]: "a/#/b" is not a topic filter`}},
		{"acl beside acl_file", "auth:\n  acl_file: f\n  acl: {publish: [\"#\"]}\n",
			[]string{`line 3: auth.acl: is set beside auth.acl_file`}},
		{"unknown key", "auth:\n  type: password\n  passwords_file: x\n",
			[]string{`line 3: unknown key "passwords_file" in auth (known: type, allow_anonymous, password_file, acl_file, users, acl, jwt, throttle)`}},
		{"negative throttle", "auth:\n  throttle: {after: -1, delay: -1s}\n",
			[]string{`auth.throttle.after: must not be negative`, `auth.throttle.delay: must not be negative`}},
		{"anonymous flag with type none", "auth:\n  allow_anonymous: true\n",
			[]string{`line 2: auth.allow_anonymous: is set but auth.type is none`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("tern.yaml", []byte(tt.file), env(map[string]string{"S": strings.Repeat("s", 32)}))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}
