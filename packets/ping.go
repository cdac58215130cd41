package packets

// Pingreq is the PINGREQ packet [MQTT-3.12].
type Pingreq struct{}

// Pingresp is the PINGRESP packet [MQTT-3.13].
type Pingresp struct{}

// Type returns PINGREQ.
func (*Pingreq) Type() Type { return PINGREQ }

// Reset does nothing: a PINGREQ has no fields.
func (*Pingreq) Reset() {}

// Decode checks that flags are 0 and the body is empty.
func (*Pingreq) Decode(flags byte, body []byte, _ Version) error {
	return decodeEmpty(PINGREQ, flags, body)
}

// Append appends the two bytes of a PINGREQ.
func (*Pingreq) Append(dst []byte, _ Version) ([]byte, error) {
	return append(dst, byte(PINGREQ)<<4, 0), nil
}

// Type returns PINGRESP.
func (*Pingresp) Type() Type { return PINGRESP }

// Reset does nothing: a PINGRESP has no fields.
func (*Pingresp) Reset() {}

// Decode checks that flags are 0 and the body is empty.
func (*Pingresp) Decode(flags byte, body []byte, _ Version) error {
	return decodeEmpty(PINGRESP, flags, body)
}

// Append appends the two bytes of a PINGRESP.
func (*Pingresp) Append(dst []byte, _ Version) ([]byte, error) {
	return append(dst, byte(PINGRESP)<<4, 0), nil
}

// decodeEmpty checks a packet that has only a fixed header.
func decodeEmpty(pt Type, flags byte, body []byte) error {
	if err := checkFlags(pt, flags, 0); err != nil {
		return err
	}
	if len(body) != 0 {
		return newError(pt, "remaining length", "not 0", MalformedPacket)
	}
	return nil
}
