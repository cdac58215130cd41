package static

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth"
	"github.com/ternmq/broker/auth/internal/rules"
	"github.com/ternmq/broker/auth/passwd"
	"github.com/ternmq/broker/packets"
)

// User is one configured user.
type User struct {
	Username string
	// Password is plain text or a hash (see the package documentation).
	Password string
	// ACL is what the user may do; nil leaves it to the fallback.
	ACL *ACL
}

// ACL lists topic filters, with %u and %c substituted.
type ACL struct {
	Publish   []string // topics the client may publish to
	Subscribe []string // filters the client may subscribe to; topics it may receive
	Deny      []string // refused for publish, subscribe and receive, before the grants
}

// Users is a broker.Authenticator and broker.Authorizer over a fixed list
// of users. It is safe for concurrent use.
type Users struct {
	users    map[string]*entry
	fallback broker.Authorizer
}

var (
	_ broker.Authenticator = (*Users)(nil)
	_ broker.Authorizer    = (*Users)(nil)
)

type entry struct {
	hash  *passwd.Hash      // nil: plain
	plain [sha256.Size]byte // SHA-256 of the plain password, compared in constant time
	rules *rules.Rules      // nil: fallback
}

// Option configures New.
type Option func(*Users)

// WithFallback sets the authorizer of users without an ACL, and of
// clients these Users did not authenticate.
func WithFallback(a broker.Authorizer) Option { return func(u *Users) { u.fallback = a } }

// New checks the users (unique non-empty names, readable hashes, valid
// filters) and returns them. Errors name the entry: "users[2].password".
func New(list []User, opts ...Option) (*Users, error) {
	u := &Users{users: make(map[string]*entry, len(list))}
	for i, us := range list {
		what := fmt.Sprintf("users[%d]", i)
		switch {
		case us.Username == "":
			return nil, fmt.Errorf("%s.username: empty", what)
		case u.users[us.Username] != nil:
			return nil, fmt.Errorf("%s.username: %q is listed twice", what, us.Username)
		}
		e := &entry{}
		if passwd.IsHash(us.Password) {
			h, err := passwd.Parse(us.Password)
			if err != nil {
				return nil, fmt.Errorf("%s.password: looks like a hash but: %w", what, err)
			}
			e.hash = h
		} else {
			e.plain = sha256.Sum256([]byte(us.Password))
		}
		if us.ACL != nil {
			r, err := rules.Compile(what+".acl", us.ACL.Publish, us.ACL.Subscribe, us.ACL.Deny)
			if err != nil {
				return nil, err
			}
			e.rules = r
		}
		u.users[us.Username] = e
	}
	for _, o := range opts {
		o(u)
	}
	return u, nil
}

// errBadPassword refuses a listed user with a wrong or missing password.
var errBadPassword = fmt.Errorf("static: wrong password: %w", packets.BadUserNameOrPassword)

// Authenticate checks a listed user's password; a client whose user name
// is not listed gets auth.ErrUnknownUser.
func (u *Users) Authenticate(_ context.Context, c *broker.Credentials) error {
	e := u.users[c.Username]
	if e == nil || c.Username == "" {
		return auth.ErrUnknownUser
	}
	if c.Password == nil {
		return errBadPassword
	}
	var ok bool
	if e.hash != nil {
		ok = e.hash.Verify(c.Password)
	} else {
		sum := sha256.Sum256(c.Password)
		ok = subtle.ConstantTimeCompare(sum[:], e.plain[:]) == 1
	}
	if !ok {
		return errBadPassword
	}
	return nil
}

// Authorize applies the ACL of the client's user; a user without one, or
// a client not listed, goes to the fallback (everything allowed without
// one).
func (u *Users) Authorize(ctx context.Context, c *broker.ClientInfo, a broker.Access) broker.Decision {
	if e := u.users[c.Username]; e != nil && c.Username != "" && e.rules != nil {
		return e.rules.Decide(c, a)
	}
	if u.fallback != nil {
		return u.fallback.Authorize(ctx, c, a)
	}
	return broker.Allow()
}

// Len returns the number of users.
func (u *Users) Len() int { return len(u.users) }

// NewACL returns an authorizer applying acl to every client.
func NewACL(acl ACL) (broker.Authorizer, error) {
	r, err := rules.Compile("acl", acl.Publish, acl.Subscribe, acl.Deny)
	if err != nil {
		return nil, err
	}
	return aclAuthorizer{r}, nil
}

type aclAuthorizer struct{ r *rules.Rules }

func (a aclAuthorizer) Authorize(_ context.Context, c *broker.ClientInfo, acc broker.Access) broker.Decision {
	return a.r.Decide(c, acc)
}
