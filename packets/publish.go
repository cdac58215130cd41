package packets

import (
	"net"
	"slices"

	"github.com/ternmq/broker/packets/codec"
)

// Publish is the PUBLISH packet [MQTT-3.3]. Topic and Payload alias the
// decoded buffer. PacketID is present only for QoS 1 and 2.
type Publish struct {
	Dup        bool
	QoS        byte
	Retain     bool
	Topic      []byte
	PacketID   uint16
	Properties Properties
	Payload    []byte
}

// Type returns PUBLISH.
func (p *Publish) Type() Type { return PUBLISH }

// Reset clears p for reuse and keeps the capacity of its property slices.
func (p *Publish) Reset() {
	p.Properties.Reset()
	*p = Publish{Properties: p.Properties}
}

// Decode parses a PUBLISH body. It rejects QoS 3 [MQTT-3.3.1-4] and DUP on
// QoS 0 [MQTT-3.3.1-2] (MalformedPacket), a topic name with '+' or '#'
// [MQTT-3.3.2-2] (TopicNameInvalid), an empty topic name unless a v5 Topic
// Alias is present [MQTT-4.7.3-1] (ProtocolError) and a packet
// identifier of 0 on QoS 1 or 2 [MQTT-2.3.1-1]. Topic and Payload alias body.
func (p *Publish) Decode(flags byte, body []byte, v Version) error {
	p.Dup = flags&0x08 != 0
	p.QoS = flags >> 1 & 3
	p.Retain = flags&0x01 != 0
	p.PacketID = 0
	if p.QoS == 3 {
		return newError(PUBLISH, "fixed header flags", "QoS 3 [MQTT-3.3.1-4]", MalformedPacket)
	}
	if p.Dup && p.QoS == 0 {
		return newError(PUBLISH, "fixed header flags", "DUP set on QoS 0 [MQTT-3.3.1-2]", MalformedPacket)
	}
	d := dec{b: body, pt: PUBLISH}
	var err error
	if p.Topic, err = d.bin("topic name"); err != nil {
		return err
	}
	if err = checkTopicName(p.Topic); err != nil {
		return err
	}
	if p.QoS > 0 {
		if p.PacketID, err = d.packetID(v); err != nil {
			return err
		}
	}
	if v == V5 {
		if err = d.props(&p.Properties, PUBLISH); err != nil {
			return err
		}
	} else {
		p.Properties.Reset()
	}
	if len(p.Topic) == 0 && !p.Properties.Present.Has(PropTopicAlias) {
		return newError(PUBLISH, "topic name", "empty without a topic alias [MQTT-4.7.3-1]", ProtocolError)
	}
	p.Payload = d.b[:len(d.b):len(d.b)]
	return nil
}

// checkTopicName validates a topic name in one pass over its bytes: UTF-8
// rules first (MalformedPacket), then no wildcard [MQTT-3.3.2-2]
// (TopicNameInvalid).
func checkTopicName(topic []byte) error {
	wildcard, ascii := false, true
	for _, c := range topic {
		switch {
		case c >= 0x80:
			ascii = false
		case c == 0:
			return newError(PUBLISH, "topic name", codec.ErrNullChar.Error(), MalformedPacket)
		case c == '+' || c == '#':
			wildcard = true
		}
	}
	if !ascii {
		if err := codec.ValidateUTF8(topic); err != nil {
			return newError(PUBLISH, "topic name", err.Error(), MalformedPacket)
		}
	}
	if wildcard {
		return newError(PUBLISH, "topic name", "contains a wildcard [MQTT-3.3.2-2]", TopicNameInvalid)
	}
	return nil
}

// hasWildcard reports whether a topic name holds '+' or '#'.
func hasWildcard(topic []byte) bool {
	for _, c := range topic {
		if c == '+' || c == '#' {
			return true
		}
	}
	return false
}

// check validates p for encoding and returns the remaining length and the
// property length.
func (p *Publish) check(v Version) (remaining, propLen int, err error) {
	switch {
	case p.QoS > 2:
		return 0, 0, newError(PUBLISH, "QoS", "above 2 [MQTT-3.3.1-4]", MalformedPacket)
	case p.Dup && p.QoS == 0:
		return 0, 0, newError(PUBLISH, "DUP", "set on QoS 0 [MQTT-3.3.1-2]", MalformedPacket)
	case p.QoS > 0 && p.PacketID == 0:
		return 0, 0, validPacketID(PUBLISH, 0)
	case len(p.Topic) == 0 && (v != V5 || !p.Properties.Present.Has(PropTopicAlias)):
		return 0, 0, newError(PUBLISH, "topic name", "empty without a topic alias [MQTT-4.7.3-1]", ProtocolError)
	}
	n, err := strLen(PUBLISH, "topic name", p.Topic)
	if err != nil {
		return 0, 0, err
	}
	if p.QoS > 0 {
		n += 2
	}
	if v == V5 {
		if propLen, err = p.Properties.size(PUBLISH, PUBLISH); err != nil {
			return 0, 0, err
		}
		n += sizeVBI(propLen) + propLen
	}
	return n + len(p.Payload), propLen, nil
}

// Append appends the PUBLISH to dst, payload included. It fails on QoS 3,
// DUP on QoS 0, a packet identifier of 0 on QoS 1 or 2, an empty topic
// without a v5 topic alias, and a packet above the maximum size.
func (p *Publish) Append(dst []byte, v Version) ([]byte, error) {
	dst, err := p.appendHeader(dst, v, true)
	if err != nil {
		return dst, err
	}
	return append(dst, p.Payload...), nil
}

// AppendHeader appends everything but the payload: the fixed header (whose
// remaining length counts the payload), the topic name, the packet
// identifier and the properties. Send the payload after it, for example
// with net.Buffers, so that it is never copied.
func (p *Publish) AppendHeader(dst []byte, v Version) ([]byte, error) {
	return p.appendHeader(dst, v, false)
}

// appendHeader is AppendHeader; withPayload makes room in dst for the
// payload too, so that Append grows dst once, not once per field.
func (p *Publish) appendHeader(dst []byte, v Version, withPayload bool) ([]byte, error) {
	rem, propLen, err := p.check(v)
	if err != nil {
		return dst, err
	}
	if need := 1 + sizeVBI(rem) + rem; withPayload && cap(dst)-len(dst) < need && rem <= maxRemaining {
		dst = slices.Grow(dst, need)
	}
	flags := p.QoS << 1
	if p.Dup {
		flags |= 0x08
	}
	if p.Retain {
		flags |= 0x01
	}
	if dst, err = appendHeader(dst, PUBLISH, flags, rem); err != nil {
		return dst, err
	}
	dst = codec.AppendString(dst, p.Topic)
	if p.QoS > 0 {
		dst = codec.AppendUint16(dst, p.PacketID)
	}
	if v == V5 {
		dst = p.Properties.appendN(dst, PUBLISH, propLen)
	}
	return dst, nil
}

// Buffers appends the header part of p to header[:0] (see AppendHeader) and
// returns it with the payload as net.Buffers, ready for WriteTo on a
// connection: the payload is written from where it lies.
func (p *Publish) Buffers(header []byte, v Version) (net.Buffers, error) {
	h, err := p.AppendHeader(header[:0], v)
	if err != nil {
		return nil, err
	}
	if len(p.Payload) == 0 {
		return net.Buffers{h}, nil
	}
	return net.Buffers{h, p.Payload}, nil
}
