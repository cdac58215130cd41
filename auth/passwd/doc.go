// Package passwd checks passwords against stored hashes in the formats an
// operator moving to Tern already has:
//
//   - $7$ — PBKDF2-HMAC-SHA512, as Mosquitto 2.0's mosquitto_passwd writes
//     it by default: $7$<iterations>$<base64 salt>$<base64 hash>;
//   - $6$ — one round of SHA-512 over password and salt, as mosquitto_passwd
//     wrote it before 2.0 (and writes with -H sha512): $6$<base64
//     salt>$<base64 hash>;
//   - $2a$, $2b$, $2y$ — bcrypt (htpasswd -B, most web frameworks);
//   - $argon2id$ — Argon2id in the PHC string format
//     ($argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>, unpadded base64).
//
// Parse a stored hash once (Parse) and Verify passwords against it; the
// comparison takes constant time in the content of the password.
//
// The parameters a hash carries (iterations, memory) are bounded, so that
// a damaged or hostile file cannot make one login cost minutes or
// gigabytes: see MaxPBKDF2Iterations, MaxArgon2Memory, MaxArgon2Time.
package passwd
