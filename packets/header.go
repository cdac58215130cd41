package packets

import (
	"errors"

	"github.com/ternmq/broker/packets/codec"
)

// ErrNeedMore is returned by ReadFixedHeader and Sniff when the bytes given
// end before a decision can be made: read more and call again.
var ErrNeedMore = errors.New("packets: need more bytes")

// MaxPacketSize is the largest possible MQTT packet: a five byte fixed
// header (type byte and four byte remaining length) and the largest
// remaining length.
const MaxPacketSize = 1 + 4 + codec.MaxVBI

// ReadFixedHeader parses the fixed header at the start of b and returns it
// with its length in bytes. It returns ErrNeedMore when b ends inside the
// header, and a MalformedPacket *Error for packet type 0 or a remaining
// length longer than four bytes or not minimally encoded [MQTT-1.5.5-1].
// Flags are checked later, by the packet's Decode.
func ReadFixedHeader(b []byte) (FixedHeader, int, error) {
	if len(b) < 2 {
		return FixedHeader{}, 0, ErrNeedMore
	}
	fh := FixedHeader{Type: Type(b[0] >> 4), Flags: b[0] & 0x0F}
	if fh.Type == 0 {
		return fh, 0, newError(0, "packet type", "reserved type 0", MalformedPacket)
	}
	n, w, err := codec.ReadVBI(b[1:])
	if err == codec.ErrShort {
		return fh, 0, ErrNeedMore
	}
	if err != nil {
		return fh, 0, newError(fh.Type, "remaining length", err.Error(), MalformedPacket)
	}
	fh.Remaining = int(n)
	return fh, 1 + w, nil
}

// AppendFixedHeader appends fh's type, flags and remaining length.
func AppendFixedHeader(dst []byte, fh FixedHeader) ([]byte, error) {
	return appendHeader(dst, fh.Type, fh.Flags&0x0F, fh.Remaining)
}

// Unmarshal decodes the one complete packet b holds (fixed header
// included) for version v; bytes beyond the remaining length are a
// MalformedPacket, and so is a b that ends early. Like Decode it allocates
// the packet; the result aliases b.
func Unmarshal(b []byte, v Version) (Packet, error) {
	fh, n, err := ReadFixedHeader(b)
	if err == ErrNeedMore {
		return nil, newError(fh.Type, "fixed header", "truncated", MalformedPacket)
	}
	if err != nil {
		return nil, err
	}
	if len(b)-n != fh.Remaining {
		return nil, newError(fh.Type, "remaining length", "does not match the packet length", MalformedPacket)
	}
	return Decode(fh, b[n:], v)
}
