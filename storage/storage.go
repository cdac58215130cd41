package storage

import (
	"context"
	"errors"
	"time"
)

// ErrNotFound is returned when the requested item does not exist.
var ErrNotFound = errors.New("storage: not found")

// ErrTooLarge is returned when an item exceeds a backend's size limit (for
// example etcd's request size).
var ErrTooLarge = errors.New("storage: item too large for this backend")

// ErrClosed is returned by every method after Close.
var ErrClosed = errors.New("storage: store is closed")

// Store is the composite a broker is configured with.
type Store interface {
	Sessions() SessionStore
	Subscriptions() SubscriptionStore
	Retained() RetainedStore
	Wills() WillStore
	Queues() QueueStore
	// Close flushes pending writes and releases the backend.
	Close() error
}

// Message is an application message as stored.
type Message struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
	// Properties are the MQTT 5 PUBLISH properties in their wire encoding
	// (length prefix included), nil when there are none.
	Properties []byte
	// Expiry is when the message expires (MQTT 5 message expiry interval);
	// the zero time means never.
	Expiry time.Time
}

// Session is the persistent part of an MQTT session.
type Session struct {
	ClientID string
	Version  byte // protocol level: 3, 4 or 5
	// ExpiryInterval is the session expiry interval in seconds;
	// 0xFFFFFFFF means the session never expires.
	ExpiryInterval uint32
	// DisconnectedAt is when the client went away; zero while connected.
	DisconnectedAt time.Time
	// AwaitingRel lists inbound QoS 2 packet identifiers for which PUBREC
	// was sent and PUBREL not yet received [MQTT-4.3.3].
	AwaitingRel []uint16
}

// SessionStore persists sessions by client identifier.
type SessionStore interface {
	Get(ctx context.Context, clientID string) (*Session, error)
	Save(ctx context.Context, s *Session) error
	Delete(ctx context.Context, clientID string) error
	// Range calls fn for every session until fn returns false.
	Range(ctx context.Context, fn func(*Session) bool) error
}

// Subscription is one stored subscription of a client.
type Subscription struct {
	Filter            string // as subscribed, "$share/group/..." included
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte
	ID                uint32 // MQTT 5 subscription identifier, 0 if none
}

// SubscriptionStore persists subscriptions of persistent sessions.
type SubscriptionStore interface {
	// Add stores s, replacing the client's subscription with the same filter.
	Add(ctx context.Context, clientID string, s Subscription) error
	Remove(ctx context.Context, clientID, filter string) error
	RemoveAll(ctx context.Context, clientID string) error
	ForClient(ctx context.Context, clientID string) ([]Subscription, error)
	// Range calls fn for every subscription of every client until fn returns false.
	Range(ctx context.Context, fn func(clientID string, s Subscription) bool) error
}

// RetainedStore persists retained messages by topic name.
type RetainedStore interface {
	// Set stores m, replacing the retained message of its topic. The
	// caller does not modify m or its slices afterwards, so a store may
	// keep them rather than copy them (storage/memory does: the broker's
	// retained index holds the same payload).
	Set(ctx context.Context, m *Message) error
	Delete(ctx context.Context, topic string) error
	Get(ctx context.Context, topic string) (*Message, error)
	// Range calls fn for every retained message until fn returns false.
	Range(ctx context.Context, fn func(*Message) bool) error
}

// Will is a client's will message and its MQTT 5 will delay.
type Will struct {
	Message
	Delay uint32 // will delay interval in seconds
}

// WillStore persists the wills of connected clients (and of clients whose
// will is waiting for its delay), so a crash still publishes them.
type WillStore interface {
	Set(ctx context.Context, clientID string, w *Will) error
	Get(ctx context.Context, clientID string) (*Will, error)
	Delete(ctx context.Context, clientID string) error
	Range(ctx context.Context, fn func(clientID string, w *Will) bool) error
}

// Delivery states of a queued message.
const (
	// StateQueued: not yet sent to the client.
	StateQueued byte = 0
	// StateSent: PUBLISH sent with PacketID, waiting for PUBACK or PUBREC.
	StateSent byte = 1
	// StateReleased: PUBREL sent for PacketID, waiting for PUBCOMP.
	StateReleased byte = 2
)

// Queued is a message in a session's outbound queue.
type Queued struct {
	Seq      uint64 // assigned by Append, increasing per client
	PacketID uint16 // 0 until sent
	State    byte   // StateQueued, StateSent or StateReleased
	Message
}

// QueueStore persists each persistent session's outbound messages, in order.
type QueueStore interface {
	// Append adds m at the tail of the client's queue and returns its sequence number.
	Append(ctx context.Context, clientID string, m *Message) (seq uint64, err error)
	// Update stores the PacketID and State of the entry q.Seq.
	Update(ctx context.Context, clientID string, q *Queued) error
	// Remove deletes the entry seq (acknowledged or expired).
	Remove(ctx context.Context, clientID string, seq uint64) error
	// Range calls fn for the client's entries in sequence order until fn returns false.
	Range(ctx context.Context, clientID string, fn func(*Queued) bool) error
	// Clear deletes the client's whole queue.
	Clear(ctx context.Context, clientID string) error
}

// Locker is an optional capability of a Store shared by several brokers:
// a mutual exclusion per name, for a host that coordinates work of its own
// across brokers. unlock releases it; a crashed owner's lock expires by
// itself. The broker does not use it: it keeps one owner per client
// identifier with Claimer.
type Locker interface {
	Lock(ctx context.Context, clientID string) (unlock func(), err error)
}

// QueueAppend is one entry of a batch append: a message for a client's queue.
type QueueAppend struct {
	ClientID string
	Message  *Message
}

// QueueBatcher is an optional capability of a Store: AppendBatch appends
// every entry in one write (one transaction, one fsync), in order, and
// returns their sequence numbers; RemoveBatch removes a client's entries
// seqs in one write, ignoring those already gone. The broker uses them to
// group the durable deliveries of many PUBLISH packets, and the removals
// of many acknowledgements, into one commit each.
type QueueBatcher interface {
	AppendBatch(ctx context.Context, entries []QueueAppend) ([]uint64, error)
	RemoveBatch(ctx context.Context, clientID string, seqs []uint64) error
}

// Claimer is an optional capability of a Store shared by several brokers:
// it records which broker serves a client, and tells each broker when
// another one takes a client from it, so that a client id connected to
// broker A and then to broker B is taken over on A [MQTT-3.1.4-3].
type Claimer interface {
	// Claim records owner as the broker serving clientID.
	Claim(ctx context.Context, clientID, owner string) error
	// WatchClaims calls fn with the client id of every claim made by an
	// owner other than owner, until ctx is done.
	WatchClaims(ctx context.Context, owner string, fn func(clientID string)) error
}
