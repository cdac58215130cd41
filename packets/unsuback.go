package packets

import "github.com/ternmq/broker/packets/codec"

// Unsuback is the UNSUBACK packet [MQTT-3.11]. ReasonCodes and Properties
// exist only in v5; in 3.1.x the packet carries only the packet identifier.
type Unsuback struct {
	PacketID    uint16
	Properties  Properties
	ReasonCodes []ReasonCode
}

// unsubackCodes are the reason codes a v5 UNSUBACK may carry [MQTT-3.11.3].
var unsubackCodes = newReasonSet(Success, NoSubscriptionExisted, UnspecifiedError,
	ImplementationSpecificError, NotAuthorized, TopicFilterInvalid, PacketIdentifierInUse)

// Type returns UNSUBACK.
func (u *Unsuback) Type() Type { return UNSUBACK }

// Reset clears u for reuse and keeps the capacity of its slices.
func (u *Unsuback) Reset() {
	u.Properties.Reset()
	*u = Unsuback{Properties: u.Properties, ReasonCodes: u.ReasonCodes[:0]}
}

// Decode parses an UNSUBACK body: the packet identifier and, in v5,
// properties and one or more reason codes defined for UNSUBACK.
func (u *Unsuback) Decode(flags byte, body []byte, v Version) error {
	u.Reset()
	if err := checkFlags(UNSUBACK, flags, 0); err != nil {
		return err
	}
	d := dec{b: body, pt: UNSUBACK}
	var err error
	if u.PacketID, err = d.packetID(v); err != nil {
		return err
	}
	if v != V5 {
		return d.end()
	}
	if err = d.props(&u.Properties, UNSUBACK); err != nil {
		return err
	}
	if len(d.b) == 0 {
		return d.malformed("payload", "no reason code")
	}
	for _, c := range d.b {
		if !unsubackCodes.has(ReasonCode(c)) {
			return d.malformed("reason code", "not defined for UNSUBACK")
		}
		u.ReasonCodes = append(u.ReasonCodes, ReasonCode(c))
	}
	return nil
}

// Append appends the UNSUBACK; 3.1.x carries the packet identifier only, v5
// needs at least one reason code.
func (u *Unsuback) Append(dst []byte, v Version) ([]byte, error) {
	if err := validPacketID(UNSUBACK, u.PacketID); err != nil {
		return dst, err
	}
	if v != V5 {
		return append(dst, byte(UNSUBACK)<<4, 2, byte(u.PacketID>>8), byte(u.PacketID)), nil
	}
	if len(u.ReasonCodes) == 0 {
		return dst, newError(UNSUBACK, "payload", "no reason code", ProtocolError)
	}
	for _, c := range u.ReasonCodes {
		if !unsubackCodes.has(c) {
			return dst, newError(UNSUBACK, "reason code", "not defined for UNSUBACK", ProtocolError)
		}
	}
	propLen, err := u.Properties.size(UNSUBACK, UNSUBACK)
	if err != nil {
		return dst, err
	}
	if dst, err = appendHeader(dst, UNSUBACK, 0, 2+sizeVBI(propLen)+propLen+len(u.ReasonCodes)); err != nil {
		return dst, err
	}
	dst = codec.AppendUint16(dst, u.PacketID)
	dst = u.Properties.appendN(dst, UNSUBACK, propLen)
	for _, c := range u.ReasonCodes {
		dst = append(dst, byte(c))
	}
	return dst, nil
}
