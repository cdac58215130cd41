package packets

import "github.com/ternmq/broker/packets/codec"

// dec is a cursor over a packet body. Each read names the field it reads, so
// that a failure becomes an *Error that says which packet and which field.
type dec struct {
	b  []byte
	pt Type
}

// newError builds the *Error for a failure in packet pt.
func newError(pt Type, field, reason string, code ReasonCode) *Error {
	return &Error{Packet: pt, Field: field, Reason: reason, Code: code}
}

func (d *dec) malformed(field, reason string) *Error {
	return newError(d.pt, field, reason, MalformedPacket)
}

func (d *dec) protocol(field, reason string) *Error {
	return newError(d.pt, field, reason, ProtocolError)
}

// codecErr converts a codec sentinel into a MalformedPacket *Error.
func (d *dec) codecErr(field string, err error) *Error {
	return d.malformed(field, err.Error())
}

func (d *dec) u8(field string) (byte, error) {
	if len(d.b) < 1 {
		return 0, d.malformed(field, "truncated")
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c, nil
}

func (d *dec) u16(field string) (uint16, error) {
	v, rest, err := codec.ReadUint16(d.b)
	if err != nil {
		return 0, d.codecErr(field, err)
	}
	d.b = rest
	return v, nil
}

// packetID reads a packet identifier, which must not be 0 [MQTT-2.3.1-1]:
// MalformedPacket in 3.1.x (the only code there is), ProtocolError in 5.
func (d *dec) packetID(v Version) (uint16, error) {
	id, err := d.u16("packet identifier")
	if err == nil && id == 0 {
		code := ProtocolError
		if v != V5 {
			code = MalformedPacket
		}
		return 0, newError(d.pt, "packet identifier", "is 0 [MQTT-2.3.1-1]", code)
	}
	return id, err
}

func (d *dec) str(field string) ([]byte, error) {
	s, rest, err := codec.ReadString(d.b)
	if err != nil {
		return nil, d.codecErr(field, err)
	}
	d.b = rest
	return s, nil
}

func (d *dec) bin(field string) ([]byte, error) {
	s, rest, err := codec.ReadBinary(d.b)
	if err != nil {
		return nil, d.codecErr(field, err)
	}
	d.b = rest
	return s, nil
}

// props decodes a property length and the properties that follow into p.
func (d *dec) props(p *Properties, on Type) error {
	rest, err := p.decode(d.b, on, d.pt)
	d.b = rest
	return err
}

// end fails when bytes are left over: the remaining length claimed more than
// the fields hold.
func (d *dec) end() error {
	if len(d.b) != 0 {
		return d.malformed("remaining length", "trailing bytes after the last field")
	}
	return nil
}

// checkFlags rejects fixed header flags other than want [MQTT-2.1.3-1].
func checkFlags(pt Type, flags, want byte) error {
	if flags != want {
		return newError(pt, "fixed header flags", "reserved bits are not as specified [MQTT-2.1.3-1]", MalformedPacket)
	}
	return nil
}

// maxRemaining is the largest remaining length [MQTT-2.2.3].
const maxRemaining = codec.MaxVBI

// appendHeader appends a fixed header, or fails when remaining is too large.
func appendHeader(dst []byte, pt Type, flags byte, remaining int) ([]byte, error) {
	if remaining > maxRemaining {
		return dst, newError(pt, "remaining length", "packet larger than 268435455 bytes", PacketTooLarge)
	}
	dst = append(dst, byte(pt)<<4|flags)
	return codec.AppendVBI(dst, uint32(remaining)), nil
}

// strLen returns the encoded size of a string or binary field, and an error
// when it does not fit the two byte length.
func strLen(pt Type, field string, s []byte) (int, error) {
	if len(s) > codec.MaxString {
		return 0, newError(pt, field, "longer than 65535 bytes", MalformedPacket)
	}
	return 2 + len(s), nil
}

// validPacketID checks a packet identifier before encoding.
func validPacketID(pt Type, id uint16) error {
	if id == 0 {
		return newError(pt, "packet identifier", "is 0 [MQTT-2.3.1-1]", ProtocolError)
	}
	return nil
}

// reasonSet is a set of reason codes, one bit per value.
type reasonSet [4]uint64

func newReasonSet(codes ...ReasonCode) reasonSet {
	var s reasonSet
	for _, c := range codes {
		s[c>>6] |= 1 << (c & 63)
	}
	return s
}

func (s *reasonSet) has(c ReasonCode) bool { return s[c>>6]&(1<<(c&63)) != 0 }

// sizeVBI is codec.SizeVBI for an int.
func sizeVBI(n int) int { return codec.SizeVBI(uint32(n)) }
