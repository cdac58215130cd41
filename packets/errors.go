package packets

import "errors"

// Error is a decoding or encoding failure. It names the packet, the field and
// the reason, and carries the v5 reason code the server must answer with
// (MalformedPacket, ProtocolError, PacketTooLarge, ...). errors.Is(err, code)
// matches that code.
type Error struct {
	Packet Type       // the packet being decoded; 0 when the type itself is bad
	Field  string     // for example "topic name", "properties", "remaining length"
	Reason string     // what was wrong
	Code   ReasonCode // what the broker answers
}

// Error formats the failure as "PUBLISH topic name: contains U+0000 (malformed packet)".
func (e *Error) Error() string {
	return e.Packet.String() + " " + e.Field + ": " + e.Reason + " (" + e.Code.Error() + ")"
}

// Unwrap returns the reason code, so errors.Is(err, packets.ProtocolError) works.
func (e *Error) Unwrap() error { return e.Code }

// CodeOf returns the reason code carried by err: the Code of a *Error, the
// ReasonCode itself, or UnspecifiedError for any other non-nil error.
func CodeOf(err error) ReasonCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	var rc ReasonCode
	if errors.As(err, &rc) {
		return rc
	}
	if err == nil {
		return Success
	}
	return UnspecifiedError
}
