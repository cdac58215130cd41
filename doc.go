// Package broker is Tern, an MQTT 3.1, 3.1.1 and 5.0 broker to embed in Go
// programs.
//
//	b, err := broker.New(broker.WithListener(l))
//	err = b.Start(ctx)
//	defer b.Shutdown(ctx)
//
// Listeners (package listeners and its subpackages) hand connections to the
// broker; storage backends (package storage) persist sessions and retained
// messages; small hook interfaces (hooks.go) let a host authenticate,
// authorize, observe and modify. The in-process API (Publish, Subscribe,
// and Client for an authenticated identity, as the bridges use it)
// routes messages for the host without a socket.
//
// # Connection I/O
//
// Each connection has one reader goroutine (the one that called ServeConn),
// which decodes packets from a pooled read buffer held only while bytes are
// pending (packets.Reader), handles them and queues replies. Outbound traffic
// goes through the session: publishers append deliveries to the session's
// bounded queue and start a writer goroutine if none runs. The writer takes
// control packets and a batch of deliveries, encodes them into one pooled
// buffer (a message is encoded once per variant - protocol version, QoS,
// retain - and shared; only the packet identifier is patched per
// subscriber) and writes them with a single Write, then exits when nothing
// is left.
//
// An idle connection holds no goroutine and no buffer where the system
// allows it (park.go): on Linux a plain TCP or Unix socket that has read
// nothing since the last sweep (every second) and every connection right
// after its CONNECT wait in the broker's epoll poller; bytes, a close or an
// expired keep alive start a new reader goroutine. An idle connection then
// costs about 1.1 KiB of heap (the connection, its session, the runtime's
// socket), against 9.9 KiB with a goroutine blocked in Read. ServeConn
// returns when such a connection is parked; TLS, WebSocket and other
// wrapped connections keep their goroutine (their bytes are buffered out of
// the poller's sight).
//
// # Lock order
//
// Broker.mu (sessions, connections) before session.mu (queue, in-flight,
// subscriptions, and the conn fields ctrl/writing/dead). The topic trie and
// the retained index lock internally and are leaves: never call back into the
// broker while holding them. Storage is called without session locks, except
// where a removal must stay ordered with the in-flight window.
//
// # Persistence
//
// Working state lives in memory; storage (package storage) is written
// through for what must survive a restart: persistent sessions (expiry
// above zero) with their subscriptions, their QoS 1 and 2 deliveries
// (appended before the publisher is acknowledged, removed after the
// subscriber's acknowledgement, QoS 2 packet identifiers and PUBREL state
// recorded), inbound QoS 2 identifiers awaiting PUBREL, retained messages
// and the wills of connected clients. New restores all of it; a client
// resuming a session this broker does not hold (another broker on the same
// etcd) has it loaded at CONNECT. A delivery that cannot be stored is not
// acknowledged to its publisher.
//
// # Overflow policy
//
// A session's queue holds at most Limits.MaxQueuedMessages deliveries and,
// with its in-flight window, Limits.MaxQueuedBytes of messages (counted as
// what they hold in memory, user properties included). When it is full,
// new deliveries for that session are dropped, counted in Stats.Dropped
// and reported to DropHook and Metrics; other clients and the publisher
// are not slowed. QoS 0 messages for a disconnected session are not
// queued (DropOfflineQoS0), as in Mosquitto's default. Above
// Limits.MaxQueuedBytesTotal for all sessions together the broker sheds
// load (budget.go). Retained messages a SUBSCRIBE matches do not go
// through the queue: the writer streams them as the client reads
// (retained.go), so a large set is never dropped.
//
// # Backpressure
//
// Replies (acknowledgements, SUBACK...) are flushed at least every 64
// packets read; a client that leaves more than 256 KiB of them unread is
// not read from until it catches up, or is disconnected after
// Limits.WriteTimeout. After a server DISCONNECT the connection is
// half-closed and its input discarded for up to a second, so the client
// reads the reason code instead of a reset.
package broker
