package packets

import (
	"bytes"

	"github.com/ternmq/broker/packets/codec"
)

// Subscription is one topic filter of a SUBSCRIBE with its options
// [MQTT-3.8.3.1]. In 3.1.x only QoS is carried.
type Subscription struct {
	Filter            []byte
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte // 0 send retained, 1 only if new, 2 never
}

// Subscribe is the SUBSCRIBE packet [MQTT-3.8].
type Subscribe struct {
	PacketID      uint16
	Properties    Properties
	Subscriptions []Subscription
}

// Type returns SUBSCRIBE.
func (s *Subscribe) Type() Type { return SUBSCRIBE }

// Reset clears s for reuse and keeps the capacity of its slices.
func (s *Subscribe) Reset() {
	s.Properties.Reset()
	clear(s.Subscriptions)
	*s = Subscribe{Properties: s.Properties, Subscriptions: s.Subscriptions[:0]}
}

// sharedPrefix starts a shared subscription filter.
var sharedPrefix = []byte("$share/")

// Decode parses a SUBSCRIBE body: flags 0b0010 [MQTT-3.8.1-1], a non-zero
// packet identifier, v5 properties (one Subscription Identifier at most) and
// at least one filter [MQTT-3.8.3-3] (ProtocolError). An empty filter
// [MQTT-4.7.3-1] and reserved option bits [MQTT-3.8.3-5] are a
// MalformedPacket; QoS 3 is a MalformedPacket in 3.1.x [MQTT-3-8.3-4] and a
// ProtocolError in v5, as are Retain Handling 3 and No Local on a shared
// subscription [MQTT-3.8.3-4]. The filters are otherwise not checked.
func (s *Subscribe) Decode(flags byte, body []byte, v Version) error {
	s.Reset()
	if err := checkFlags(SUBSCRIBE, flags, 0x02); err != nil {
		return err
	}
	d := dec{b: body, pt: SUBSCRIBE}
	var err error
	if s.PacketID, err = d.packetID(v); err != nil {
		return err
	}
	if v == V5 {
		if err = d.props(&s.Properties, SUBSCRIBE); err != nil {
			return err
		}
	}
	if len(d.b) == 0 {
		return d.protocol("payload", "no topic filter [MQTT-3.8.3-3]")
	}
	for len(d.b) > 0 {
		var sub Subscription
		if sub.Filter, err = d.str("topic filter"); err != nil {
			return err
		}
		if len(sub.Filter) == 0 {
			return d.malformed("topic filter", "empty [MQTT-4.7.3-1]")
		}
		opts, err := d.u8("subscription options")
		if err != nil {
			return err
		}
		if err = sub.setOptions(opts, v); err != nil {
			return err
		}
		s.Subscriptions = append(s.Subscriptions, sub)
	}
	return nil
}

// setOptions unpacks and checks a subscription options byte [MQTT-3.8.3.1].
func (sub *Subscription) setOptions(opts byte, v Version) error {
	const field = "subscription options"
	sub.QoS = opts & 0x03
	if v != V5 {
		if opts&0xFC != 0 || sub.QoS == 3 {
			return newError(SUBSCRIBE, field, "reserved bits set or QoS 3 [MQTT-3-8.3-4]", MalformedPacket)
		}
		return nil
	}
	sub.NoLocal = opts&0x04 != 0
	sub.RetainAsPublished = opts&0x08 != 0
	sub.RetainHandling = opts >> 4 & 0x03
	switch {
	case opts&0xC0 != 0:
		return newError(SUBSCRIBE, field, "reserved bits set [MQTT-3.8.3-5]", MalformedPacket)
	case sub.QoS == 3:
		return newError(SUBSCRIBE, field, "QoS 3", ProtocolError)
	case sub.RetainHandling == 3:
		return newError(SUBSCRIBE, field, "retain handling 3", ProtocolError)
	case sub.NoLocal && bytes.HasPrefix(sub.Filter, sharedPrefix):
		return newError(SUBSCRIBE, field, "no local on a shared subscription [MQTT-3.8.3-4]", ProtocolError)
	}
	return nil
}

// options packs the subscription options byte for version v; 3.1.x carries
// QoS only.
func (sub *Subscription) options(v Version) (byte, error) {
	if sub.QoS > 2 || sub.RetainHandling > 2 {
		return 0, newError(SUBSCRIBE, "subscription options", "QoS or retain handling above 2", ProtocolError)
	}
	if len(sub.Filter) == 0 {
		return 0, newError(SUBSCRIBE, "topic filter", "empty [MQTT-4.7.3-1]", MalformedPacket)
	}
	o := sub.QoS
	if v == V5 {
		o |= sub.RetainHandling << 4
		if sub.NoLocal {
			o |= 0x04
		}
		if sub.RetainAsPublished {
			o |= 0x08
		}
	}
	return o, nil
}

// Append appends the SUBSCRIBE. It fails without subscriptions, on packet
// identifier 0, an empty filter, QoS or Retain Handling 3.
func (s *Subscribe) Append(dst []byte, v Version) ([]byte, error) {
	if err := validPacketID(SUBSCRIBE, s.PacketID); err != nil {
		return dst, err
	}
	if len(s.Subscriptions) == 0 {
		return dst, newError(SUBSCRIBE, "payload", "no topic filter [MQTT-3.8.3-3]", ProtocolError)
	}
	rem, propLen := 2, 0
	if v == V5 {
		var err error
		if propLen, err = s.Properties.size(SUBSCRIBE, SUBSCRIBE); err != nil {
			return dst, err
		}
		rem += sizeVBI(propLen) + propLen
	}
	for i := range s.Subscriptions {
		if _, err := s.Subscriptions[i].options(v); err != nil {
			return dst, err
		}
		n, err := strLen(SUBSCRIBE, "topic filter", s.Subscriptions[i].Filter)
		if err != nil {
			return dst, err
		}
		rem += n + 1
	}
	dst, err := appendHeader(dst, SUBSCRIBE, 0x02, rem)
	if err != nil {
		return dst, err
	}
	dst = codec.AppendUint16(dst, s.PacketID)
	if v == V5 {
		dst = s.Properties.appendN(dst, SUBSCRIBE, propLen)
	}
	for i := range s.Subscriptions {
		o, _ := s.Subscriptions[i].options(v)
		dst = append(codec.AppendString(dst, s.Subscriptions[i].Filter), o)
	}
	return dst, nil
}
