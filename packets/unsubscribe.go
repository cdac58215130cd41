package packets

import "github.com/ternmq/broker/packets/codec"

// Unsubscribe is the UNSUBSCRIBE packet [MQTT-3.10].
type Unsubscribe struct {
	PacketID   uint16
	Properties Properties
	Filters    [][]byte
}

// Type returns UNSUBSCRIBE.
func (u *Unsubscribe) Type() Type { return UNSUBSCRIBE }

// Reset clears u for reuse and keeps the capacity of its slices.
func (u *Unsubscribe) Reset() {
	u.Properties.Reset()
	clear(u.Filters)
	*u = Unsubscribe{Properties: u.Properties, Filters: u.Filters[:0]}
}

// Decode parses an UNSUBSCRIBE body: flags 0b0010 [MQTT-3.10.1-1], a
// non-zero packet identifier, v5 properties and at least one filter
// [MQTT-3.10.3-2] (ProtocolError). An empty filter is a MalformedPacket
// [MQTT-4.7.3-1].
func (u *Unsubscribe) Decode(flags byte, body []byte, v Version) error {
	u.Reset()
	if err := checkFlags(UNSUBSCRIBE, flags, 0x02); err != nil {
		return err
	}
	d := dec{b: body, pt: UNSUBSCRIBE}
	var err error
	if u.PacketID, err = d.packetID(v); err != nil {
		return err
	}
	if v == V5 {
		if err = d.props(&u.Properties, UNSUBSCRIBE); err != nil {
			return err
		}
	}
	if len(d.b) == 0 {
		return d.protocol("payload", "no topic filter [MQTT-3.10.3-2]")
	}
	for len(d.b) > 0 {
		f, err := d.str("topic filter")
		if err != nil {
			return err
		}
		if len(f) == 0 {
			return d.malformed("topic filter", "empty [MQTT-4.7.3-1]")
		}
		u.Filters = append(u.Filters, f)
	}
	return nil
}

// Append appends the UNSUBSCRIBE. It fails without filters, with an empty
// filter or on packet identifier 0.
func (u *Unsubscribe) Append(dst []byte, v Version) ([]byte, error) {
	if err := validPacketID(UNSUBSCRIBE, u.PacketID); err != nil {
		return dst, err
	}
	if len(u.Filters) == 0 {
		return dst, newError(UNSUBSCRIBE, "payload", "no topic filter [MQTT-3.10.3-2]", ProtocolError)
	}
	rem, propLen := 2, 0
	if v == V5 {
		var err error
		if propLen, err = u.Properties.size(UNSUBSCRIBE, UNSUBSCRIBE); err != nil {
			return dst, err
		}
		rem += sizeVBI(propLen) + propLen
	}
	for _, f := range u.Filters {
		if len(f) == 0 {
			return dst, newError(UNSUBSCRIBE, "topic filter", "empty [MQTT-4.7.3-1]", MalformedPacket)
		}
		n, err := strLen(UNSUBSCRIBE, "topic filter", f)
		if err != nil {
			return dst, err
		}
		rem += n
	}
	dst, err := appendHeader(dst, UNSUBSCRIBE, 0x02, rem)
	if err != nil {
		return dst, err
	}
	dst = codec.AppendUint16(dst, u.PacketID)
	if v == V5 {
		dst = u.Properties.appendN(dst, UNSUBSCRIBE, propLen)
	}
	for _, f := range u.Filters {
		dst = codec.AppendString(dst, f)
	}
	return dst, nil
}
