package codec

// ReadUint16 reads a big-endian two byte integer [MQTT-1.5.2].
func ReadUint16(b []byte) (v uint16, rest []byte, err error) {
	if len(b) < 2 {
		return 0, b, ErrShort
	}
	return uint16(b[0])<<8 | uint16(b[1]), b[2:], nil
}

// ReadUint32 reads a big-endian four byte integer [MQTT-1.5.3].
func ReadUint32(b []byte) (v uint32, rest []byte, err error) {
	if len(b) < 4 {
		return 0, b, ErrShort
	}
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), b[4:], nil
}

// AppendUint16 appends v as a big-endian two byte integer.
func AppendUint16(dst []byte, v uint16) []byte {
	return append(dst, byte(v>>8), byte(v))
}

// AppendUint32 appends v as a big-endian four byte integer.
func AppendUint32(dst []byte, v uint32) []byte {
	return append(dst, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}
