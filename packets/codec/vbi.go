package codec

// MaxVBI is the largest value a variable byte integer can hold (four bytes):
// 268,435,455, which is also the largest remaining length.
const MaxVBI = 268435455

// SizeVBI returns the number of bytes AppendVBI writes for v: 1 to 4 for
// values up to MaxVBI, and 5 above it (such values cannot be encoded).
func SizeVBI(v uint32) int {
	switch {
	case v < 128:
		return 1
	case v < 16384:
		return 2
	case v < 2097152:
		return 3
	case v <= MaxVBI:
		return 4
	}
	return 5
}

// AppendVBI appends v as a variable byte integer in the minimal number of
// bytes [MQTT-1.5.5]. The caller checks v <= MaxVBI; larger values are
// truncated to their low 28 bits.
func AppendVBI(dst []byte, v uint32) []byte {
	v &= MaxVBI
	for v >= 128 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// ReadVBI reads a variable byte integer from the start of b and returns its
// value and its length in bytes. It rejects encodings longer than four bytes
// (ErrVBITooLong) and encodings longer than needed (ErrVBINotMinimal,
// [MQTT-1.5.5-1]): a last byte of 0 after a continuation byte. ErrShort means
// b ends inside the integer, so a stream reader can wait for more bytes.
func ReadVBI(b []byte) (v uint32, n int, err error) {
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, ErrShort
		}
		c := b[i]
		v |= uint32(c&0x7f) << (7 * i)
		if c < 0x80 {
			if c == 0 && i > 0 {
				return 0, 0, ErrVBINotMinimal
			}
			return v, i + 1, nil
		}
	}
	return 0, 0, ErrVBITooLong
}
