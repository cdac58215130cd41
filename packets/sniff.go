package packets

import "bytes"

// Sniff returns the protocol version of a connection from its first bytes,
// the CONNECT packet's protocol name and level, as bufio.Reader.Peek would
// give them; nothing is consumed. It returns ErrNeedMore while b is too
// short to decide, a ProtocolError *Error when the first packet is not a
// CONNECT [MQTT-3.1.0-1], a MalformedPacket *Error for a bad fixed header,
// and an UnsupportedProtocolVersion *Error for any name and level other
// than "MQIsdp" 3, "MQTT" 4 and "MQTT" 5.
func Sniff(b []byte) (Version, error) {
	if len(b) == 0 {
		return 0, ErrNeedMore
	}
	if Type(b[0]>>4) != CONNECT {
		return 0, newError(Type(b[0]>>4), "packet type", "first packet is not CONNECT [MQTT-3.1.0-1]", ProtocolError)
	}
	if err := checkFlags(CONNECT, b[0]&0x0F, 0); err != nil {
		return 0, err
	}
	fh, n, err := ReadFixedHeader(b)
	if err != nil {
		return 0, err
	}
	b = b[n:]
	if len(b) < 2 {
		return 0, ErrNeedMore
	}
	nameLen := int(b[0])<<8 | int(b[1])
	if nameLen+3 > fh.Remaining {
		return 0, newError(CONNECT, "protocol name", "longer than the packet", MalformedPacket)
	}
	if nameLen != len(nameMQTT) && nameLen != len(nameMQIsdp) {
		return 0, unsupported()
	}
	if len(b) < 2+nameLen+1 {
		return 0, ErrNeedMore
	}
	name, level := b[2:2+nameLen], Version(b[2+nameLen])
	switch {
	case level == V31 && bytes.Equal(name, nameMQIsdp),
		(level == V311 || level == V5) && bytes.Equal(name, nameMQTT):
		return level, nil
	}
	return 0, unsupported()
}

func unsupported() error {
	return newError(CONNECT, "protocol name", "not MQTT 3.1, 3.1.1 or 5", UnsupportedProtocolVersion)
}
