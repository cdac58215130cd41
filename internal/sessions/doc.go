// Package sessions holds the pure state of an MQTT session, without I/O: the
// routed Message (with its cache of encoded forms, so a message fanned out to
// many subscribers is encoded once per variant), the bounded outbound Queue,
// and the Inflight window with packet identifier allocation.
//
// None of these types lock: the broker guards each session's Queue and
// Inflight with that session's mutex. A Message is immutable once routed and
// is shared by every session it is queued on; its encoding cache is filled
// with atomic compare-and-swap, so any goroutine may read it.
package sessions
