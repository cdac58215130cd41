package broker

import (
	"errors"

	"github.com/ternmq/broker/packets"
)

// ErrNotAccepted, returned or wrapped by a PublishHook, refuses a QoS 1
// or 2 message as not kept (a forward to another broker failed, say), so
// that its publisher sends it again: an MQTT 5 publisher gets the reason
// code wrapped with it (Unspecified error when there is none) in
// PUBACK/PUBREC; a 3.1.x publisher, which has no reason code, gets no
// acknowledgement at all: the connection is closed, as when the message
// could not be stored, and the client sends the message again when it
// reconnects with its session [MQTT-4.4.0-1]. Any other error refuses a
// 3.1.x message silently: it is acknowledged and dropped. For QoS 0 it is
// a refusal like any other.
var ErrNotAccepted = errors.New("broker: message not accepted")

// AcceptLater is what a PublishHook returns, instead of nil, for a QoS 1
// message whose fate it learns later (a cluster that forwarded it to
// other nodes): the broker routes it and goes on reading the client's
// packets meanwhile, and calls wait before it acknowledges the message,
// in order with the client's other acknowledgements. A nil from wait
// accepts the message; an error refuses it as an error from OnPublish
// would (ErrNotAccepted: not acknowledged at all), but the message has
// been routed here already: a publisher that sends it again may deliver
// it twice to this broker's subscribers (QoS 1 is at least once). For
// the in-process API and wills, and for QoS 0 and 2 (exactly once must
// know before it routes), wait is called at once, before routing.
func AcceptLater(wait func() error) error { return acceptLater{wait} }

// acceptLater is the error AcceptLater returns.
type acceptLater struct{ wait func() error }

func (acceptLater) Error() string { return "broker: message accepted pending a wait" }

// codeOr returns the reason code err carries, or def.
func codeOr(err error, def packets.ReasonCode) packets.ReasonCode {
	var rc packets.ReasonCode
	if errors.As(err, &rc) && rc.IsError() {
		return rc
	}
	var pe *packets.Error
	if errors.As(err, &pe) {
		return pe.Code
	}
	return def
}

// refusal is the reason code for a refused Decision: Not authorized for a
// deny, failure for a decision that could not be made.
func refusal(d Decision, failure packets.ReasonCode) packets.ReasonCode {
	if d.err != nil {
		return failure
	}
	return packets.NotAuthorized
}
