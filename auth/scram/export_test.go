package scram

// WithServerNonce fixes the server part of the nonce, for the RFC 7677
// test vector.
func WithServerNonce(s string) Option {
	return func(a *Authenticator) { a.nonce = func() string { return s } }
}
