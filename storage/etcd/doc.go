// Package etcd is a storage.Store kept in etcd, for brokers that share
// their persistent state: every broker of a cluster opens a Store on the
// same etcd cluster and prefix. The broker keeps one owner per client
// identifier with claims (storage.Claimer: a takeover on one broker
// disconnects the client on the other); Lock (storage.Locker) is there for
// hosts that coordinate work of their own across brokers.
//
// # Key layout
//
// Under the prefix (DefaultPrefix "/tern/"):
//
//	sessions/<id>            a session
//	subs/<id>/<filter>       a subscription
//	retained/<topic>         a retained message
//	wills/<id>               a will
//	queues/<id>/<seq>        a queue entry, seq as 16 hex digits
//	seq/<id>                 the last sequence number handed out, 8 bytes big-endian
//	locks/<id>/<lease>       concurrency.Mutex waiters and holder
//
// <id> is the client identifier escaped with url.PathEscape, so a '/' in
// it cannot reach into another client's keys; filters and topics are the
// last segment and keep their '/'. A client's queue is one range read, in
// sequence order.
//
// # Values
//
// Values use the same small versioned binary encoding as storage/bolt
// (storage/internal/record): a version byte, fixed-width integers, uvarint
// lengths, the payload last. A queue entry starts with its state and
// packet identifier, which Update patches in place.
//
// # Consistency
//
// Every call is one or a few etcd requests made with the caller's
// context. Append allocates the sequence number and writes the entry in
// one transaction that compares the seq key's ModRevision, and retries
// when another writer won; Update writes back only if the entry's
// ModRevision is unchanged. Ranges read a page of keys at a time and hold
// nothing while the callback runs, so a callback may call the Store.
//
// # Limits
//
// etcd refuses requests above 1.5 MiB (its --max-request-bytes) and has a
// 2 GiB storage quota by default. A write whose encoded key and value
// exceed MaxValueSize fails with an error wrapping storage.ErrTooLarge
// before it is sent; keep message queues bounded.
package etcd
