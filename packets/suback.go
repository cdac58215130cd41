package packets

import "github.com/ternmq/broker/packets/codec"

// Suback is the SUBACK packet [MQTT-3.9]: one reason code per filter, in
// order. In 3.1.x the codes are the return codes 0, 1, 2 and 0x80.
type Suback struct {
	PacketID    uint16
	Properties  Properties
	ReasonCodes []ReasonCode
}

var (
	// subackCodes are the reason codes a v5 SUBACK may carry [MQTT-3.9.3].
	subackCodes = newReasonSet(GrantedQoS0, GrantedQoS1, GrantedQoS2, UnspecifiedError,
		ImplementationSpecificError, NotAuthorized, TopicFilterInvalid, PacketIdentifierInUse,
		QuotaExceeded, SharedSubscriptionsNotSupported, SubscriptionIdentifiersNotSupported,
		WildcardSubscriptionsNotSupported)
	// subackCodesV3 are the 3.1.1 return codes [MQTT-3.9.3-2]; 3.1 lacks 0x80
	// but it is accepted there too.
	subackCodesV3 = newReasonSet(GrantedQoS0, GrantedQoS1, GrantedQoS2, UnspecifiedError)
)

// Type returns SUBACK.
func (s *Suback) Type() Type { return SUBACK }

// Reset clears s for reuse and keeps the capacity of its slices.
func (s *Suback) Reset() {
	s.Properties.Reset()
	*s = Suback{Properties: s.Properties, ReasonCodes: s.ReasonCodes[:0]}
}

// Decode parses a SUBACK body: packet identifier, v5 properties, then one
// or more reason codes, each of which must be defined for SUBACK (0, 1, 2
// and 0x80 in 3.1.x) or the packet is a MalformedPacket.
func (s *Suback) Decode(flags byte, body []byte, v Version) error {
	s.Reset()
	if err := checkFlags(SUBACK, flags, 0); err != nil {
		return err
	}
	d := dec{b: body, pt: SUBACK}
	var err error
	if s.PacketID, err = d.packetID(v); err != nil {
		return err
	}
	codes := &subackCodesV3
	if v == V5 {
		if err = d.props(&s.Properties, SUBACK); err != nil {
			return err
		}
		codes = &subackCodes
	}
	if len(d.b) == 0 {
		return d.malformed("payload", "no reason code")
	}
	for _, c := range d.b {
		if !codes.has(ReasonCode(c)) {
			return d.malformed("reason code", "not defined for SUBACK")
		}
		s.ReasonCodes = append(s.ReasonCodes, ReasonCode(c))
	}
	return nil
}

// Append appends the SUBACK. For 3.1.x every failure code is written as
// 0x80, the one failure return code there is.
func (s *Suback) Append(dst []byte, v Version) ([]byte, error) {
	if err := validPacketID(SUBACK, s.PacketID); err != nil {
		return dst, err
	}
	if len(s.ReasonCodes) == 0 {
		return dst, newError(SUBACK, "payload", "no reason code", ProtocolError)
	}
	rem, propLen := 2+len(s.ReasonCodes), 0
	if v == V5 {
		for _, c := range s.ReasonCodes {
			if !subackCodes.has(c) {
				return dst, newError(SUBACK, "reason code", "not defined for SUBACK", ProtocolError)
			}
		}
		var err error
		if propLen, err = s.Properties.size(SUBACK, SUBACK); err != nil {
			return dst, err
		}
		rem += sizeVBI(propLen) + propLen
	} else {
		for _, c := range s.ReasonCodes {
			if !c.IsError() && c > GrantedQoS2 {
				return dst, newError(SUBACK, "reason code", "not a 3.1.x return code", ProtocolError)
			}
		}
	}
	dst, err := appendHeader(dst, SUBACK, 0, rem)
	if err != nil {
		return dst, err
	}
	dst = codec.AppendUint16(dst, s.PacketID)
	if v == V5 {
		dst = s.Properties.appendN(dst, SUBACK, propLen)
	}
	for _, c := range s.ReasonCodes {
		if v != V5 && c.IsError() {
			c = UnspecifiedError
		}
		dst = append(dst, byte(c))
	}
	return dst, nil
}
