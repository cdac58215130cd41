// Package file authenticates and authorizes MQTT clients from Mosquitto's
// password_file and acl_file, read as Mosquitto 2.0 reads them, so that an
// operator moving from Mosquitto keeps both files unchanged.
//
// # Password file
//
// One user per line, "username:hash", as mosquitto_passwd writes it:
// $7$ (PBKDF2-SHA512, Mosquitto 2.0's default) or $6$ (salted SHA-512,
// Mosquitto 1.x). Tern also accepts bcrypt ($2a$, $2b$, $2y$) and
// Argon2id ($argon2id$) hashes, which Mosquitto does not; see package
// auth/passwd. As in Mosquitto, lines starting with '#' and lines without
// ':' are skipped, and a line whose hash cannot be read is logged and
// skipped (that user cannot log in) rather than failing the whole file.
// Plain-text passwords are refused, as Mosquitto built with TLS refuses
// them.
//
// A client with a user name not in the file, or without a password, is
// refused with Bad user name or password (0x86; 3.1.1 return code 4) where
// Mosquitto answers Not authorized (0x87; 3.1.1 return code 5): both
// refuse, Tern names the reason. Inside an auth.Chain an unknown user
// passes to the next member (auth.ErrUnknownUser).
//
// # ACL file
//
//	# Clients without a user name: the lines before any "user" line.
//	topic read $SYS/#
//	user roger
//	topic foo/bar                # read and write
//	topic deny foo/bar/secret    # denials are checked first
//	pattern write sensor/%u/data # every client; %u user name, %c client id
//
// "topic [read|write|readwrite|deny] FILTER" grants (or denies) what
// follows the last "user" line; "pattern" lines apply to every client,
// with %c and %u substituted. A line that Mosquitto would refuse (an
// unknown keyword or access type, a bad filter) fails the load, naming
// the line.
//
// Decisions follow Mosquitto 2.0.11 (src/security_default.c) exactly for
// publishing (write) and for each delivery (read): the client's own rules
// first, denials before grants, then the patterns; a client with no rules
// and no patterns gets nothing; a user name or client id containing '+'
// or '#' gets nothing from patterns; publishing under $SYS is refused
// except to $SYS/broker/connection/+/state.
//
// SUBSCRIBE differs on purpose. Mosquitto 2.0.11 grants every filter and
// filters at delivery, so a subscription nothing can ever reach is still
// granted. Tern also filters at delivery, and in addition refuses at
// SUBACK (0x80 for 3.1.1, 0x87 for 5) a filter whose every topic a "deny"
// rule covers: with "topic deny test/nosubscribe", subscribing to
// test/nosubscribe is refused (as the Paho interoperability suite's
// test_subscribe_failure expects) while "test/#" is granted and never
// delivers test/nosubscribe. Without deny rules the SUBACKs are
// Mosquitto's.
//
// # Reloading
//
// Passwords.Reload and ACL.Reload read their file again, as Mosquitto
// does on SIGHUP. A file that fails to load leaves the previous contents
// in force. Clients already connected keep their connection; their next
// publish and delivery are decided by the new ACL.
package file
