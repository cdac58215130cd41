// Package memory is Tern's default storage backend: every store is a map in
// process memory, so nothing survives a restart. It exists so the broker
// always has a Store to write through to, and it is fast enough that doing
// so costs little.
//
// Values are copied on the way in and on the way out; the stored copies are
// never modified after they are stored (an update replaces them), which lets
// Range take a snapshot of pointers under a short lock and call fn without
// holding any lock: fn may call back into the store.
//
// Lock order: Store.qmu before queue.mu. No other mutex is held while
// another is taken.
package memory
