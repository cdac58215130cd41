// Package topics holds MQTT topic rules and the data structures built on
// them: name and filter validation, wildcard matching with the '$' rule,
// the subscription Trie (with shared subscription groups), the Retained
// message index and MQTT 5 topic aliases.
//
// Concurrency: Trie and Retained are safe for concurrent use. Each guards
// its nodes with one RWMutex: Match and lookups take the read lock, so many
// publishers match at once; Subscribe, Unsubscribe, Set and Delete take the
// write lock. Subscriber lists and group member lists are copy-on-write:
// replaced, never mutated, so a Group's Members snapshot may be used after
// the lock is released. Callbacks passed to Retained.Match run under the read
// lock and must not call back into the index. Aliases are per connection
// and not safe for concurrent use.
package topics
