// Package rules is the allow-list ACL that auth/static (users of a
// configuration file) and auth/jwt (a token's claim) share: filters a
// client may publish to, filters it may subscribe to and receive from,
// and filters denied before either, with %u (user name) and %c (client
// id) substituted.
package rules
