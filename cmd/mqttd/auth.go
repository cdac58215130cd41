package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth"
	"github.com/ternmq/broker/auth/file"
	"github.com/ternmq/broker/auth/jwt"
	"github.com/ternmq/broker/auth/static"
	"github.com/ternmq/broker/cmd/mqttd/internal/config"
)

// authSetup is what the auth: block of the configuration became: the
// broker options, what SIGHUP reloads, and what to close on exit.
type authSetup struct {
	authn   broker.Authenticator // nil: every client connects
	authz   broker.Authorizer    // nil: every client may do everything
	hooks   []any
	summary string // one word for the "tern listening" line

	reloaders []authReloader
	closers   []func()

	// expirer ends connections whose token expires (type jwt).
	expirer *jwt.Expirer
}

// authReloader re-reads one source of credentials or rules.
type authReloader struct {
	name string
	fn   func(context.Context) error
}

// openAuth loads the files and keys the auth block names. An error names
// the key at fault.
func openAuth(c config.Auth, log *slog.Logger) (_ *authSetup, err error) {
	s := &authSetup{}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	fallback, err := s.fallbackAuthorizer(c, log)
	if err != nil {
		return nil, err
	}
	if c.Type == "" || c.Type == "none" {
		s.authz = fallback
		s.summary = "anonymous"
		if fallback != nil {
			s.summary = "anonymous+acl"
		}
		return s, nil
	}

	var members []auth.Member
	parts := []string{c.Type}
	if len(c.Users) > 0 {
		users := make([]static.User, len(c.Users))
		for i, u := range c.Users {
			users[i] = static.User{Username: u.Username, Password: u.Password}
			if u.ACL != nil {
				users[i].ACL = &static.ACL{Publish: u.ACL.Publish, Subscribe: u.ACL.Subscribe, Deny: u.ACL.Deny}
			}
		}
		u, err := static.New(users, static.WithFallback(fallback))
		if err != nil {
			return nil, fmt.Errorf("auth.%w", err)
		}
		members = append(members, auth.Member{Name: "users", Authenticator: u, Authorizer: u})
		parts = append(parts, fmt.Sprintf("users:%d", u.Len())) // no "=": the log value stays unquoted
	}
	if c.PasswordFile != "" {
		p, err := file.LoadPasswords(c.PasswordFile, file.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("auth.password_file: %w", err)
		}
		members = append(members, auth.Member{Name: "password_file", Authenticator: p})
		s.reloaders = append(s.reloaders, authReloader{"password_file", func(context.Context) error { return p.Reload() }})
		parts = append(parts, "password_file")
	}
	if c.JWT != nil {
		a, err := jwt.New(jwtConfig(c.JWT, log), jwt.WithFallback(fallback))
		if err != nil {
			return nil, fmt.Errorf("auth.jwt: %w", err)
		}
		s.closers = append(s.closers, func() { _ = a.Close() })
		members = append(members, auth.Member{Name: "jwt", Authenticator: a, Authorizer: a})
		s.reloaders = append(s.reloaders, authReloader{"jwt keys", a.Reload})
		s.expirer = jwt.NewExpirer(log)
		s.closers = append(s.closers, s.expirer.Close)
		s.hooks = append(s.hooks, s.expirer)
	}
	if c.ACLFile != "" {
		parts = append(parts, "acl_file")
	} else if c.ACL != nil {
		parts = append(parts, "acl")
	}
	opts := []auth.Option{auth.WithDefaultAuthorizer(fallback), auth.WithLogger(log)}
	if c.AllowAnonymous != nil && *c.AllowAnonymous {
		opts = append(opts, auth.WithAnonymous(fallback))
		parts = append(parts, "anonymous")
	}
	if t := c.Throttle; t.Enabled == nil || *t.Enabled {
		opts = append(opts, auth.WithThrottle(&auth.Throttle{After: t.After, Delay: t.Delay, MaxDelay: t.MaxDelay, Forget: t.Forget}))
	}
	chain, err := auth.NewChain(members, opts...)
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}
	s.authn, s.authz = chain, chain
	s.summary = strings.Join(parts, ",")
	return s, nil
}

// fallbackAuthorizer is the ACL of every client without one of its own:
// acl_file, or the acl block, or none (everything allowed).
func (s *authSetup) fallbackAuthorizer(c config.Auth, log *slog.Logger) (broker.Authorizer, error) {
	switch {
	case c.ACLFile != "":
		a, err := file.LoadACL(c.ACLFile, file.WithLogger(log))
		if err != nil {
			return nil, fmt.Errorf("auth.acl_file: %w", err)
		}
		s.reloaders = append(s.reloaders, authReloader{"acl_file", func(context.Context) error { return a.Reload() }})
		return a, nil
	case c.ACL != nil:
		a, err := static.NewACL(static.ACL{Publish: c.ACL.Publish, Subscribe: c.ACL.Subscribe, Deny: c.ACL.Deny})
		if err != nil {
			return nil, fmt.Errorf("auth.%w", err)
		}
		return a, nil
	}
	return nil, nil
}

func jwtConfig(j *config.JWT, log *slog.Logger) jwt.Config {
	c := jwt.Config{
		SecretFile: j.SecretFile, KeysFile: j.KeysFile, JWKSURL: j.JWKSURL,
		Algorithms: j.Algorithms, Issuer: j.Issuer, Audience: j.Audience, Leeway: j.Leeway,
		AllowNoExpiry: j.AllowNoExpiry, UsernameClaim: j.UsernameClaim, ACLClaim: j.ACLClaim,
		Refresh: j.Refresh, Logger: log,
	}
	if j.Secret != "" {
		c.Secret = []byte(j.Secret)
	}
	return c
}

// options are the broker options of the setup.
func (s *authSetup) options() []broker.Option {
	var opts []broker.Option
	if s.authn != nil {
		opts = append(opts, broker.WithAuthenticator(s.authn))
	}
	if s.authz != nil {
		opts = append(opts, broker.WithAuthorizer(s.authz))
	}
	if len(s.hooks) > 0 {
		opts = append(opts, broker.WithHooks(s.hooks...))
	}
	return opts
}

// attach gives the JWT Expirer the broker whose clients it disconnects.
func (s *authSetup) attach(b *broker.Broker) {
	if s.expirer != nil {
		s.expirer.Attach(b)
	}
}

// Reload re-reads password_file, acl_file and the JWT keys; what fails to
// load keeps its previous contents, and the errors are returned joined.
func (s *authSetup) Reload(ctx context.Context) error {
	var errs []error
	for _, r := range s.reloaders {
		if err := r.fn(ctx); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.name, err))
		}
	}
	return errors.Join(errs...)
}

// Close stops the JWT key refresher and expiry timers.
func (s *authSetup) Close() {
	for _, c := range s.closers {
		c()
	}
	s.closers = nil
}
