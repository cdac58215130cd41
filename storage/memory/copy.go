package memory

import "github.com/ternmq/broker/storage"

// copyMessage returns a deep copy of m. Payload and Properties share one
// allocation; empty slices come back nil.
func copyMessage(m *storage.Message) storage.Message {
	c := *m
	c.Payload, c.Properties = copyBytes2(m.Payload, m.Properties)
	return c
}

// copyBytes2 copies a and b into one new array, returning nil for an empty
// input.
func copyBytes2(a, b []byte) ([]byte, []byte) {
	n := len(a) + len(b)
	if n == 0 {
		return nil, nil
	}
	buf := make([]byte, n)
	copy(buf, a)
	copy(buf[len(a):], b)
	var ca, cb []byte
	if len(a) > 0 {
		ca = buf[:len(a):len(a)]
	}
	if len(b) > 0 {
		cb = buf[len(a):]
	}
	return ca, cb
}

// copySession returns a deep copy of s.
func copySession(s *storage.Session) *storage.Session {
	c := *s
	if len(s.AwaitingRel) > 0 {
		c.AwaitingRel = append([]uint16(nil), s.AwaitingRel...)
	} else {
		c.AwaitingRel = nil
	}
	return &c
}
