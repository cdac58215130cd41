// Package auth combines the authentication and authorization backends of
// the Tern broker: a Chain tries several Authenticators in turn, remembers
// which one accepted each client, and routes that client's authorization
// questions to the same backend. It also counts and logs failures (never
// the password) and slows down an address that keeps failing.
//
// The backends live in subpackages:
//
//   - auth/file: Mosquitto's password_file and acl_file, as they are;
//   - auth/static: users and ACLs listed in configuration (mqttd's YAML);
//   - auth/jwt: a JSON Web Token as the password, with its ACL in a claim;
//   - auth/passwd: the password hash formats the others accept;
//   - auth/scram: SCRAM-SHA-256 through MQTT 5 enhanced authentication.
//
// A backend that does not know a user returns ErrUnknownUser, and the Chain
// asks the next one: the first backend that knows the user decides, and
// its "no" is final. A backend used alone (not in a Chain) refuses such a
// client with Bad user name or password, since ErrUnknownUser wraps that
// reason code.
package auth
