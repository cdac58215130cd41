// Package jwt authenticates MQTT clients that present a JSON Web Token
// (RFC 7519) as their password, and authorizes them from an ACL carried
// in the token.
//
// The token is verified with github.com/golang-jwt/jwt/v5: signature by
// HS256 (a shared secret), RS256, ES256 or EdDSA (Ed25519) public keys,
// then exp, nbf, iat (with Leeway), iss and aud when configured. Keys come
// from a secret, a file of PEM public keys or certificates or a JWKS
// (RFC 7517) document, or a JWKS URL; files and URL are read again every
// Refresh, on Reload (SIGHUP in mqttd), and when a token names a key id
// not yet known (at most once per MinRefresh).
//
// The user name is optional. When the client sends one it must equal the
// token's user name claim (UsernameClaim, "sub" by default); when it sends
// none, the claim becomes the client's user name, so %u works in ACLs and
// logs name the user. A password that is not shaped like a JWT is not this
// package's business: Authenticate returns auth.ErrUnknownUser, so that
// an auth.Chain asks its next member.
//
// The ACL is the claim named by ACLClaim ("mqtt" by default):
//
//	{"mqtt": {"pub": ["devices/%c/out"], "sub": ["devices/%c/in/#"], "deny": ["devices/%c/in/secret"]}}
//
// with the allow-list semantics of auth/static ("publish" and
// "subscribe" are accepted as spellings of "pub" and "sub"). A token
// without the claim is decided by the fallback authorizer (WithFallback),
// and denied everything when there is none; with ACLClaim "-" tokens carry
// no ACL and the fallback (or, without one, "allow everything") decides.
//
// A connection outlives its token unless something ends it. The
// Authenticator refuses every publish and delivery of a client whose
// token has expired, and an Expirer (a broker hook) disconnects such a
// client at the moment its token expires, through a function the host
// provides (the broker's Disconnect by client id).
package jwt
