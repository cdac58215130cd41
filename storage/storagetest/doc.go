// Package storagetest is the conformance suite of storage backends. Every
// backend's tests call Run (and, if it persists, RunPersistence); its
// benchmarks call Bench, so the backends are measured alike.
//
// Beyond what package storage documents, the suite pins down what the broker
// relies on:
//   - Delete, Remove and Update of something missing return ErrNotFound;
//     RemoveAll, Clear, ForClient and Range on an unknown client succeed
//     with nothing.
//   - Sequence numbers start above 0 (the broker treats 0 as "not stored")
//     and keep increasing per client, across Clear and across a reopen.
//   - A Range callback may call the store, including writes (the broker
//     reads subscriptions while ranging over sessions, and may acknowledge
//     queue entries while replaying them).
//   - Empty byte slices may come back nil.
//   - A cancelled context fails a call with the context's error.
//   - After Close every method, Close included, returns ErrClosed.
package storagetest
