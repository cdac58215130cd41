// Package topics holds the MQTT topic rules and the data structures built
// on them: validation of topic names and filters, wildcard matching with
// the '$' rule, the subscription Trie with shared subscription groups, the
// Retained message index, and MQTT 5 topic aliases. It imports nothing
// from the rest of the broker.
//
// # Concurrency
//
// Trie: one sync.RWMutex (Trie.mu) guards every node. Match takes the read
// lock for one walk and copies what it finds into the caller's Matches, so
// any number of publishers match at once and nothing the trie owns escapes
// the lock, except Groups. Subscribe and Unsubscribe take the write lock;
// they are O(levels): a node's subscriber slice is changed in place (append,
// swap-remove, with a key index on crowded nodes), which is safe because
// every reader of it holds the read lock.
//
// Group: its member list is copy-on-write behind an atomic pointer. Writers
// (under Trie.mu's write lock) publish a new slice, never modify a
// published one, so Members returns a snapshot the broker iterates with no
// lock at all, after Match has released Trie.mu. Next is an atomic counter.
//
// Retained: one sync.RWMutex guards every node. Match calls its callback
// under the read lock, so the callback must not call back into the index.
//
// Lock order: no function of this package holds two locks at once, and
// none calls out while holding one, except Retained.Match's callback.
// Trie.count is written under the write lock and read atomically.
//
// AliasesIn and AliasesOut belong to one connection direction each and are
// not safe for concurrent use.
package topics
