package broker

import (
	"errors"

	"github.com/ternmq/broker/packets"
)

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
