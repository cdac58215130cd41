package codec

import (
	"bytes"
	"unicode/utf8"
)

// MaxString is the longest UTF-8 string or binary data field: its length is
// a two byte integer.
const MaxString = 65535

// ValidateUTF8 checks s against the rules for UTF-8 encoded strings
// [MQTT-1.5.4-1, MQTT-1.5.4-2]: it must be well-formed UTF-8, must not encode
// surrogates (utf8.Valid rejects them) and must not contain U+0000. A BOM
// (U+FEFF) is kept as is [MQTT-1.5.4-3]; the control characters the
// specification discourages are accepted.
func ValidateUTF8(s []byte) error {
	if !utf8.Valid(s) {
		return ErrInvalidUTF8
	}
	if bytes.IndexByte(s, 0) >= 0 {
		return ErrNullChar
	}
	return nil
}

// ReadBinary reads binary data: a two byte length followed by that many
// bytes [MQTT-1.5.6]. data aliases b.
func ReadBinary(b []byte) (data, rest []byte, err error) {
	if len(b) < 2 {
		return nil, b, ErrShort
	}
	n := int(b[0])<<8 | int(b[1])
	if len(b)-2 < n {
		return nil, b, ErrShort
	}
	return b[2 : 2+n : 2+n], b[2+n:], nil
}

// ReadString reads a UTF-8 encoded string [MQTT-1.5.4] and validates it
// with ValidateUTF8. s aliases b.
func ReadString(b []byte) (s, rest []byte, err error) {
	s, rest, err = ReadBinary(b)
	if err != nil {
		return nil, b, err
	}
	if err = ValidateUTF8(s); err != nil {
		return nil, b, err
	}
	return s, rest, nil
}

// ReadStringPair reads a UTF-8 string pair [MQTT-1.5.7]: two strings, name
// then value, both validated.
func ReadStringPair(b []byte) (key, value, rest []byte, err error) {
	key, rest, err = ReadString(b)
	if err != nil {
		return nil, nil, b, err
	}
	value, rest, err = ReadString(rest)
	if err != nil {
		return nil, nil, b, err
	}
	return key, value, rest, nil
}

// AppendBinary appends data with its two byte length prefix. The caller
// checks len(data) <= MaxString; longer data is truncated to MaxString bytes
// so that the output stays well formed.
func AppendBinary(dst, data []byte) []byte {
	if len(data) > MaxString {
		data = data[:MaxString]
	}
	dst = append(dst, byte(len(data)>>8), byte(len(data)))
	return append(dst, data...)
}

// AppendString appends s as a UTF-8 encoded string. It does not validate
// s; the caller checks len(s) <= MaxString as for AppendBinary.
func AppendString(dst, s []byte) []byte { return AppendBinary(dst, s) }

// AppendStringPair appends a UTF-8 string pair.
func AppendStringPair(dst, key, value []byte) []byte {
	return AppendBinary(AppendBinary(dst, key), value)
}
