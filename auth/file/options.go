package file

import "log/slog"

// Option configures LoadPasswords and LoadACL.
type Option func(*options)

type options struct {
	log       *slog.Logger
	anonymous bool
}

func buildOptions(opts []Option) options {
	o := options{log: slog.Default()}
	for _, f := range opts {
		f(&o)
	}
	return o
}

// WithLogger sets where problems in the files are logged (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithAnonymous makes Passwords accept clients that send no user name
// (Mosquitto's allow_anonymous true). Inside an auth.Chain use
// auth.WithAnonymous instead, so that every member is asked first.
func WithAnonymous() Option { return func(o *options) { o.anonymous = true } }
