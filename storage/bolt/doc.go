// Package bolt is Tern's single-node disk backend, on bbolt (go.etcd.io/bbolt):
// one file, ACID transactions, no server.
//
// # Durability
//
// WithSync chooses what a returned write promises:
//
//   - SyncAlways (the default): every write is its own transaction and is
//     fsynced before the call returns. A QoS 1 or 2 message is on disk once
//     Append returns.
//   - SyncBatch: concurrent writes are grouped into one transaction by
//     bbolt's DB.Batch and fsynced together. A call still returns only after
//     its batch is on disk (the same promise as SyncAlways), but waits up to
//     the batch delay (WithBatchDelay, 2ms by default) for company. It pays
//     off when many goroutines write at once; a lone writer is slower.
//   - SyncNone: bbolt's NoSync; the file is fsynced about once a second in
//     the background. A crash of the process loses nothing, but a power loss
//     or kernel crash loses up to the last seconds of writes and, since
//     unsynced writes reach the disk in no particular order, may leave a file
//     that bbolt refuses to open. For tests and for data you can afford to
//     lose.
//
// # Layout
//
// Top-level buckets:
//
//	sessions  client id → session
//	subs      client id → (bucket) filter → subscription
//	retained  topic → message
//	wills     client id → will
//	queues    client id → (bucket) 8-byte big-endian seq → queue entry
//	meta      "format" → layout version
//
// A client's queue is its own bucket with keys in sequence order, so Range
// and acknowledgements touch that client's pages only. Sequence numbers
// come from the bucket's durable sequence (NextSequence). Clear deletes the
// bucket but first raises the sequence of the queues bucket to the cleared
// bucket's, and a new queue bucket starts from there: a client's numbers
// keep increasing across Clear and reopen without keeping a counter per
// client forever.
//
// Values use a small hand-written binary encoding (storage/internal/record), version
// byte first.
//
// A call checks its context before it starts; a write that has started
// waits for its commit even if the context ends meanwhile, since giving up
// would leave the caller not knowing whether it was stored.
//
// Range runs fn outside any transaction: it reads a chunk of entries in a
// read transaction, closes it, then calls fn for them, so fn may write to
// the store. It sees entries added or removed while it runs or not,
// depending on where it is.
package bolt
