package config

import (
	"slices"
	"strings"
)

// PLACEHOLDER for the merge with auth.go (issue 10, authentication part):
// only the fields of the architecture document's auth block, so that its
// example loads. No authenticator of this build reads them: a type other
// than none is "not available in this build". Delete this file when
// auth.go, which defines the real block, is merged.

// Auth is the architecture document's auth block.
type Auth struct {
	Type  string `yaml:"type"` // none, password, jwt or custom
	Users []User `yaml:"users"`
}

// User is one entry of auth.users.
type User struct {
	Username string  `yaml:"username"`
	Password string  `yaml:"password"` // plain, ${ENV} or a hash
	ACL      UserACL `yaml:"acl"`
}

// UserACL lists the topic filters a user may publish and subscribe to.
type UserACL struct {
	Publish   []string `yaml:"publish"`
	Subscribe []string `yaml:"subscribe"`
}

var authTypes = []string{"none", "password", "jwt", "custom"}

func (d *decoder) auth(a *Auth) {
	a.Type = strings.ToLower(a.Type)
	switch {
	case a.Type == "":
		a.Type = "none"
	case !slices.Contains(authTypes, a.Type):
		d.invalid("auth.type", "unknown type %q (one of: %s)", a.Type, strings.Join(authTypes, ", "))
	case a.Type != "none":
		d.invalid("auth.type", "%q is not available in this build (this mqttd has: none)", a.Type)
	}
}
