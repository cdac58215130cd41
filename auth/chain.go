package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync/atomic"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// ErrUnknownUser is what a backend returns for a client it has no record
// of (no such user name, or no credential of the kind it checks): a Chain
// then asks its next member. It wraps packets.BadUserNameOrPassword, so a
// backend used on its own refuses such a client with that code.
var ErrUnknownUser = fmt.Errorf("auth: unknown user: %w", packets.BadUserNameOrPassword)

// AttrSource is the ClientInfo.Attributes key under which a Chain records
// the Name of the member that accepted the client, or Anonymous.
const AttrSource = "auth.source"

// Anonymous is the AttrSource of a client the Chain let in without
// credentials (WithAnonymous). No member may have this name.
const Anonymous = "anonymous"

// Member is one backend of a Chain.
type Member struct {
	// Name identifies the member in logs and in AttrSource ("file",
	// "users", "jwt"); names are unique within a Chain.
	Name string
	// Authenticator checks credentials; it returns ErrUnknownUser (or an
	// error wrapping it) for a client it does not know.
	Authenticator broker.Authenticator
	// Authorizer decides for the clients this member accepted; nil means
	// the Chain's default authorizer (WithDefaultAuthorizer) decides.
	Authorizer broker.Authorizer
}

// Chain is a broker.Authenticator and broker.Authorizer made of Members.
// It is safe for concurrent use. Give the same Chain to
// broker.WithAuthenticator and broker.WithAuthorizer.
type Chain struct {
	members   []Member
	byName    map[string]*Member
	anonymous bool
	anonAuthz broker.Authorizer
	defAuthz  broker.Authorizer
	log       *slog.Logger
	throttle  *Throttle

	accepted, refused, delayed atomic.Uint64
}

var (
	_ broker.Authenticator = (*Chain)(nil)
	_ broker.Authorizer    = (*Chain)(nil)
)

// Option configures a Chain.
type Option func(*Chain)

// WithAnonymous lets clients that present neither a user name nor a
// password connect when no member claims them (Mosquitto's
// allow_anonymous true), and has authz decide for them; a nil authz
// allows them everything. By default such clients are refused with Not
// authorized (0x87; 3.1.1 return code 5), as Mosquitto refuses them.
func WithAnonymous(authz broker.Authorizer) Option {
	return func(c *Chain) { c.anonymous, c.anonAuthz = true, authz }
}

// WithDefaultAuthorizer sets the authorizer of clients whose member has
// none. Without it they may do everything.
func WithDefaultAuthorizer(a broker.Authorizer) Option {
	return func(c *Chain) { c.defAuthz = a }
}

// WithLogger sets where failures are logged (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(c *Chain) { c.log = l } }

// WithThrottle slows down addresses that keep failing (see Throttle). By
// default nothing is slowed.
func WithThrottle(t *Throttle) Option { return func(c *Chain) { c.throttle = t } }

// NewChain returns a Chain asking members in order. It reports a member
// without an Authenticator, without a name, with a duplicate name or named
// Anonymous.
func NewChain(members []Member, opts ...Option) (*Chain, error) {
	c := &Chain{members: append([]Member(nil), members...), byName: make(map[string]*Member), log: slog.Default()}
	for i := range c.members {
		m := &c.members[i]
		switch {
		case m.Authenticator == nil:
			return nil, fmt.Errorf("auth: member %d (%q) has no Authenticator", i, m.Name)
		case m.Name == "" || m.Name == Anonymous:
			return nil, fmt.Errorf("auth: member %d needs a name other than %q", i, Anonymous)
		case c.byName[m.Name] != nil:
			return nil, fmt.Errorf("auth: two members are named %q", m.Name)
		}
		c.byName[m.Name] = m
	}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// Stats are a Chain's counters since it was made.
type Stats struct {
	Accepted uint64 // connections let in
	Refused  uint64 // connections refused (wrong or unknown credentials, anonymous refused)
	Delayed  uint64 // connections made to wait by the Throttle
}

// Stats returns the counters.
func (c *Chain) Stats() Stats {
	return Stats{Accepted: c.accepted.Load(), Refused: c.refused.Load(), Delayed: c.delayed.Load()}
}

// Authenticate asks each member in turn until one knows the client. A
// client no member knows is refused with Bad user name or password, or,
// if it presented no credentials, let in as Anonymous when WithAnonymous
// allows it and refused with Not authorized otherwise.
func (c *Chain) Authenticate(ctx context.Context, cr *broker.Credentials) error {
	start := time.Now()
	addr := hostOf(cr)
	if c.throttle != nil {
		waited, err := c.throttle.Wait(ctx, addr)
		if waited > 0 {
			c.delayed.Add(1)
		}
		if err != nil {
			c.refused.Add(1)
			c.log.Warn("authentication refused: too many failures from this address",
				"client", cr.ID, "username", cr.Username, "remote", addr, "listener", cr.Listener)
			return packets.ServerBusy
		}
	}
	for i := range c.members {
		m := &c.members[i]
		err := m.Authenticator.Authenticate(ctx, cr)
		if errors.Is(err, ErrUnknownUser) {
			continue
		}
		if err != nil {
			c.failed(cr, addr, m.Name, err, start)
			return err
		}
		c.accept(cr, addr, m.Name)
		return nil
	}
	if cr.Username == "" && cr.Password == nil {
		if c.anonymous {
			c.accept(cr, addr, Anonymous)
			return nil
		}
		c.failed(cr, addr, "", errAnonymous, start)
		return errAnonymous
	}
	c.failed(cr, addr, "", ErrUnknownUser, start)
	return ErrUnknownUser
}

// errAnonymous refuses a client without credentials.
var errAnonymous = fmt.Errorf("auth: anonymous clients are not allowed: %w", packets.NotAuthorized)

func (c *Chain) accept(cr *broker.Credentials, addr, source string) {
	c.accepted.Add(1)
	if c.throttle != nil {
		c.throttle.Success(addr)
	}
	attrs := make(map[string]any, len(cr.Attributes)+1)
	maps.Copy(attrs, cr.Attributes) // the map may be shared: never write into it
	attrs[AttrSource] = source
	cr.Attributes = attrs
}

// failed counts and logs a refusal. The password is never logged; err
// comes from a member and must not hold it either.
func (c *Chain) failed(cr *broker.Credentials, addr, member string, err error, start time.Time) {
	c.refused.Add(1)
	if c.throttle != nil {
		c.throttle.Failure(addr)
	}
	c.log.Warn("authentication failed",
		"client", cr.ID, "username", cr.Username, "remote", addr, "listener", cr.Listener,
		"member", member, "code", fmt.Sprintf("0x%02X", byte(packets.CodeOf(err))), "err", err,
		"took", time.Since(start).Round(time.Millisecond).String())
}

// Authorize routes the question to the Authorizer of the member that
// accepted the client: its own, else the default one (everything allowed
// without one). Anonymous clients go to the authorizer of WithAnonymous.
// A client the Chain did not authenticate (no AttrSource attribute: the
// broker's host client of Broker.Publish, or clients of another
// Authenticator) goes to the default authorizer.
func (c *Chain) Authorize(ctx context.Context, ci *broker.ClientInfo, a broker.Access) broker.Decision {
	az := c.defAuthz
	if src, ok := ci.Attributes[AttrSource].(string); ok {
		if src == Anonymous {
			az = c.anonAuthz
		} else if m := c.byName[src]; m != nil && m.Authorizer != nil {
			az = m.Authorizer
		}
	}
	if az == nil {
		return broker.Allow()
	}
	return az.Authorize(ctx, ci, a)
}
