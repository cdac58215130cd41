// Package static authenticates and authorizes the users listed in a
// configuration: the users of the "auth:" block of mqttd's YAML, as the
// seed architecture spells it,
//
//	auth:
//	  type: password
//	  users:
//	    - username: admin
//	      password: ${ADMIN_PASSWORD}
//	      acl:
//	        publish: ["#"]
//	        subscribe: ["#"]
//	    - username: sensor
//	      password: $7$101$...            # a hash, as mosquitto_passwd writes it
//	      acl:
//	        publish: ["sensors/%u/#"]
//	        subscribe: ["commands/%c/#"]
//	        deny: ["sensors/%u/private/#"]
//
// or built by a host program as []User.
//
// A password is plain text (compared in constant time) unless it is a
// hash in one of the formats of auth/passwd ($7$, $6$, bcrypt, argon2id):
// write a plain password that starts like one of those as a hash instead.
//
// An ACL is an allow-list: a client may publish to the topics its publish
// filters match, subscribe to filters its subscribe filters cover, and
// receive messages whose topic its subscribe filters match; deny filters
// are checked first and refuse all three (a subscription is refused when
// a deny filter covers the whole filter). %u stands for the user name and
// %c for the client id; a user name or client id holding '+' or '#' gets
// no grant that names it, and every deny that names it applies. A user
// without an ACL is decided by the fallback authorizer (WithFallback),
// or may do everything when there is none. NewACL makes an ACL the
// authorizer of every client, which is how mqttd's "auth: acl:" default
// applies to anonymous clients and to users without an ACL of their own.
package static
