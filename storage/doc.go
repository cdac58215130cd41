// Package storage defines what the broker persists and the small interfaces a
// backend implements: sessions, subscriptions, retained messages, wills and
// per-session message queues (queued and in-flight). Backends live in
// subpackages: memory (the default), bolt (one node, on disk) and etcd
// (shared by a cluster). storagetest holds the conformance suite that every
// backend passes.
//
// The broker keeps its working state in memory and writes through to the
// Store only what must survive a restart: the state of persistent sessions
// (clean start false or a session expiry interval above zero), retained
// messages and wills. Clean sessions never touch the store.
//
// Every method takes a context: remote backends honour its deadline. A
// method that finds nothing returns ErrNotFound (wrapped or not; test with
// errors.Is). Values passed in are not retained by reference: a backend
// copies what it keeps, and callers may reuse their buffers.
//
// The seed design had a generic key/value MessageStore; queues need a
// per-client order and in-flight state, so QueueStore replaces it with
// sequence numbers assigned by the backend.
package storage
