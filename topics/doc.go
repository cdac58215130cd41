// Package topics holds the MQTT topic rules and the data structures built
// on them: validation of topic names and filters, wildcard matching with
// the '$' rule, the subscription Trie with shared subscription groups, the
// Retained message index, and MQTT 5 topic aliases. It imports only the
// standard library.
//
// # Concurrency
//
// Trie: one sync.RWMutex (Trie.mu) guards every node. Match holds the read
// lock for one walk and copies what it finds into the caller's Matches, so
// any number of publishers match at once and nothing mutable escapes the
// lock but Groups (below). Subscribe and Unsubscribe hold the write lock
// for O(levels) work: a node's subscriber slice is changed in place
// (append; swap-remove; a key index once a filter has many subscribers),
// which is safe because every reader of it holds the read lock.
//
// Why not copy-on-write subscriber slices or a lock-free read path: with
// readers under the read lock, a copy-on-write slice buys nothing and makes
// each change O(subscribers of that filter), so a filter shared by 100,000
// clients costs a copy of megabytes per subscribe or unsubscribe. A fully
// lock-free (RCU) trie would have to copy each children map on the path of
// a change, O(fan-out) per subscribe, which a trie of a million filters
// cannot afford. The read lock costs two atomic adds per Match, small
// beside the walk itself (a few microseconds on a cold 1,000,000-filter
// trie, dominated by cache misses).
//
// Group: its member list is copy-on-write behind an atomic pointer. Writers
// (under Trie.mu's write lock) publish a new slice and never modify a
// published one, so Members returns a snapshot the broker iterates without
// any lock, after Match has released Trie.mu. Groups are small; adding a
// member appends into spare capacity, which earlier snapshots cannot see,
// and only removals and replacements copy. Next is an atomic counter.
//
// Retained: one sync.RWMutex guards every node. Match calls its callback
// under the read lock, so the callback must not call back into the index.
//
// Lock order: there is none to respect, as no function holds two locks at
// once; none calls out under a lock except Retained.Match's callback.
// Trie.count is written under the write lock and read atomically.
//
// AliasesIn and AliasesOut belong to one direction of one connection and
// are not safe for concurrent use.
package topics
