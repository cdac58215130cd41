package codec

import "errors"

// Sentinel errors returned by the Read functions. All of them mean the
// packet is malformed.
var (
	// ErrShort: the input ends before the value does.
	ErrShort = errors.New("truncated")
	// ErrVBITooLong: a variable byte integer has a continuation bit on its
	// fourth byte, so it would need five or more bytes [MQTT-1.5.5].
	ErrVBITooLong = errors.New("variable byte integer longer than 4 bytes")
	// ErrVBINotMinimal: a variable byte integer uses more bytes than its
	// value needs [MQTT-1.5.5-1].
	ErrVBINotMinimal = errors.New("variable byte integer not minimally encoded")
	// ErrInvalidUTF8: a string is not well-formed UTF-8 or encodes a
	// surrogate code point U+D800..U+DFFF [MQTT-1.5.4-1].
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	// ErrNullChar: a string contains U+0000 [MQTT-1.5.4-2].
	ErrNullChar = errors.New("string contains U+0000")
)
