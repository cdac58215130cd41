// Package tls is the MQTT-over-TLS listener (MQTT's port 8883), with
// optional client certificates (mTLS).
//
// The TLS handshake runs on a goroutine of its own under a timeout, never
// on the accept loop: a client that connects and never sends a ClientHello
// delays nobody else's handshake. A handshake that fails (unknown CA,
// expired certificate, a plaintext client) is logged with the listener's
// name, the peer's address and the reason, and leaves nothing behind.
//
// Accepted connections are *tls.Conn values, so the broker fills
// ClientInfo.TLS (listeners.TLSConn). With WithIdentity they also carry
// the verified client certificate's Subject CN or first SAN
// (listeners.IdentityConn), which the broker uses as the user name, as
// Mosquitto's use_identity_as_username does.
//
// A listener built from files (NewFromFiles) re-reads its certificate, key
// and client CA on Reload: new handshakes use the new files while
// connections already established keep theirs.
package tls
