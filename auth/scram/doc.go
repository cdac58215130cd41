// Package scram implements SCRAM-SHA-256 (RFC 5802 with the SHA-256
// parameters of RFC 7677) as an MQTT 5 enhanced authentication method
// for the Tern broker.
//
// An *Authenticator is both a broker.Authenticator and a
// broker.Challenger, so one user database serves two kinds of client:
//
//   - a CONNECT with Authentication Method "SCRAM-SHA-256" runs the SCRAM
//     conversation over CONNECT, AUTH (0x18) and CONNACK: client-first in
//     CONNECT, server-first in AUTH, client-final in AUTH, server-final in
//     CONNACK. Re-authentication (AUTH 0x19) runs the same conversation.
//   - a plain CONNECT with user name and password has its password checked
//     against the same stored credential.
//
// The server stores a Credential (salt, iteration count, StoredKey and
// ServerKey), never the password. Build one with NewCredential, or let
// MemoryUsers do it; a host with its own database implements Users.
//
// Failures are reported as packets.ReasonCode values: an unknown user or a
// wrong proof or password is BadUserNameOrPassword (0x86), any malformed or
// unsupported SCRAM message (channel binding "p=", the "m=" extension, a
// bad nonce or base64, an out-of-order message) is NotAuthorized (0x87),
// and a method other than "SCRAM-SHA-256" is BadAuthenticationMethod
// (0x8C). NotAuthorized rather than MalformedPacket because the MQTT
// packet itself is well formed: only its Authentication Data is not, and
// MalformedPacket would tell the client its MQTT codec is broken.
//
// An unknown user still gets a server-first-message, with a salt derived
// from the user name and a per-Authenticator secret, so that whether a
// user exists is not revealed before the final step.
//
// Passwords are normalised with SASLprep (RFC 4013), as SCRAM clients do;
// user names are compared exactly as received after saslname decoding
// (=2C and =3D), so they should be stored in the form clients send.
package scram
