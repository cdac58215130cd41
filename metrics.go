package broker

import (
	"time"

	"github.com/ternmq/broker/packets"
)

// Metrics receives the broker's metric events; metrics/prometheus
// implements it. Methods are called on hot paths, from many goroutines,
// some (the gauges) with a broker or session lock held:
// they must be cheap, must not block and must not call back into the
// broker. Code that needs to act on events is a hook (hooks.go), which
// runs under no lock.
// Embed NoMetrics so that an event added later does not break an
// implementation.
//
// Gauges are reported as deltas. State restored from storage at New is
// reported as positive deltas before any client connects, so a gauge built
// from the deltas is never negative.
type Metrics interface {
	// ClientConnected: a CONNECT was accepted (CONNACK 0) on listener.
	ClientConnected(listener string)
	// ClientDisconnected: a connection accepted earlier ended after having
	// been connected for d.
	ClientDisconnected(listener string, d time.Duration)
	// ConnectRefused: a CONNECT (or an in-process Client) was refused with
	// code (BadUserNameOrPassword and NotAuthorized are authentication
	// failures; QuotaExceeded, ConnectionRateExceeded are limits).
	ConnectRefused(listener string, code packets.ReasonCode)
	// PacketReceived and PacketSent: one control packet of type t and
	// size bytes.
	PacketReceived(listener string, t packets.Type, bytes int)
	PacketSent(listener string, t packets.Type, bytes int)
	// PacketDecoded: decoding one packet took d. Sampled: called for one
	// packet in 64.
	PacketDecoded(d time.Duration)
	// ProtocolError: a connection was closed for a malformed or invalid
	// packet, with the reason code sent (or that would be sent to v5).
	ProtocolError(listener string, code packets.ReasonCode)
	// MessagePublished: a PUBLISH (or in-process publish, listener "local")
	// was accepted for routing at qos.
	MessagePublished(listener string, qos byte)
	// MessageRouted: matching and handing one message to its subscribers
	// took d. Sampled: called for one message in 64.
	MessageRouted(d time.Duration)
	// MessageDelivered: a delivery completed: QoS 0 written, QoS 1/2
	// acknowledged by the client (or handed to an in-process callback).
	MessageDelivered(qos byte)
	// MessageRetried: a QoS 1/2 delivery was sent again with DUP set.
	MessageRetried(qos byte)
	// MessageDropped: a delivery was dropped for reason.
	MessageDropped(reason DropReason)
	// Subscriptions: subscriptions held (a positive delta is a new one).
	Subscriptions(delta int)
	// Sessions: sessions held, connected or not (a positive delta is a new
	// or restored session).
	Sessions(delta int)
	// SessionExpired: a session was removed because its expiry passed.
	SessionExpired()
	// Retained: retained messages held.
	Retained(delta int)
	// StorageCall: a call op ("save_session", "append", ...) to the
	// storage backend took d and returned err.
	StorageCall(op string, d time.Duration, err error)
}

// StatsObserver is an optional capability of a Metrics: New hands it the
// broker's Stats method, for the values best read when they are collected
// rather than counted event by event (deliveries in flight and queued,
// uptime).
type StatsObserver interface {
	ObserveStats(stats func() Stats)
}

// NoMetrics is a Metrics that does nothing; embed it in an implementation
// to receive only the events it overrides.
type NoMetrics struct{}

// ClientConnected does nothing.
func (NoMetrics) ClientConnected(string) {}

// ClientDisconnected does nothing.
func (NoMetrics) ClientDisconnected(string, time.Duration) {}

// ConnectRefused does nothing.
func (NoMetrics) ConnectRefused(string, packets.ReasonCode) {}

// PacketReceived does nothing.
func (NoMetrics) PacketReceived(string, packets.Type, int) {}

// PacketSent does nothing.
func (NoMetrics) PacketSent(string, packets.Type, int) {}

// PacketDecoded does nothing.
func (NoMetrics) PacketDecoded(time.Duration) {}

// ProtocolError does nothing.
func (NoMetrics) ProtocolError(string, packets.ReasonCode) {}

// MessagePublished does nothing.
func (NoMetrics) MessagePublished(string, byte) {}

// MessageRouted does nothing.
func (NoMetrics) MessageRouted(time.Duration) {}

// MessageDelivered does nothing.
func (NoMetrics) MessageDelivered(byte) {}

// MessageRetried does nothing.
func (NoMetrics) MessageRetried(byte) {}

// MessageDropped does nothing.
func (NoMetrics) MessageDropped(DropReason) {}

// Subscriptions does nothing.
func (NoMetrics) Subscriptions(int) {}

// Sessions does nothing.
func (NoMetrics) Sessions(int) {}

// SessionExpired does nothing.
func (NoMetrics) SessionExpired() {}

// Retained does nothing.
func (NoMetrics) Retained(int) {}

// StorageCall does nothing.
func (NoMetrics) StorageCall(string, time.Duration, error) {}
