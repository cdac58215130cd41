package packets

// Connack is the CONNACK packet [MQTT-3.2]. ReasonCode is always a v5 reason
// code; for 3.1.x it is mapped to and from the return code with ConnackV3 and
// ConnackV5.
type Connack struct {
	SessionPresent bool
	ReasonCode     ReasonCode
	Properties     Properties
}

// connackCodes are the reason codes a v5 CONNACK may carry [MQTT-3.2.2.2].
var connackCodes = newReasonSet(Success, UnspecifiedError, MalformedPacket, ProtocolError,
	ImplementationSpecificError, UnsupportedProtocolVersion, ClientIdentifierNotValid,
	BadUserNameOrPassword, NotAuthorized, ServerUnavailable, ServerBusy, Banned,
	BadAuthenticationMethod, TopicNameInvalid, PacketTooLarge, QuotaExceeded,
	PayloadFormatInvalid, RetainNotSupported, QoSNotSupported, UseAnotherServer, ServerMoved,
	ConnectionRateExceeded)

// Type returns CONNACK.
func (c *Connack) Type() Type { return CONNACK }

// Reset clears c for reuse and keeps the capacity of its property slices.
func (c *Connack) Reset() {
	c.Properties.Reset()
	*c = Connack{Properties: c.Properties}
}

// Decode parses a CONNACK body. Acknowledge flags other than Session
// Present are a MalformedPacket [MQTT-3.2.2-1] (3.1, which reserves the
// whole byte, is not checked and never has Session Present); so are 3.1.x
// return codes above 5 and v5 reason codes not defined for CONNACK. Session
// Present with a failure code is a ProtocolError [MQTT-3.2.2-4].
func (c *Connack) Decode(flags byte, body []byte, v Version) error {
	c.Reset()
	if err := checkFlags(CONNACK, flags, 0); err != nil {
		return err
	}
	d := dec{b: body, pt: CONNACK}
	af, err := d.u8("acknowledge flags")
	if err != nil {
		return err
	}
	rc, err := d.u8("reason code")
	if err != nil {
		return err
	}
	if v != V31 {
		if af&0xFE != 0 {
			return d.malformed("acknowledge flags", "reserved bits set [MQTT-3.2.2-1]")
		}
		c.SessionPresent = af == 1
	}
	if v == V5 {
		c.ReasonCode = ReasonCode(rc)
		if !connackCodes.has(c.ReasonCode) {
			return d.malformed("reason code", "not defined for CONNACK")
		}
		if err = d.props(&c.Properties, CONNACK); err != nil {
			return err
		}
	} else {
		if rc > 5 {
			return d.malformed("return code", "reserved value")
		}
		c.ReasonCode = ConnackV5(rc)
	}
	if c.SessionPresent && c.ReasonCode != Success {
		return d.protocol("acknowledge flags", "session present with a failure code [MQTT-3.2.2-4]")
	}
	return d.end()
}

// Append appends the CONNACK. For 3.1.x the reason code is mapped with
// ConnackV3 and properties are dropped; 3.1 never sends Session Present.
// Session Present with a failure code fails [MQTT-3.2.2-4], as does a v5
// reason code not defined for CONNACK.
func (c *Connack) Append(dst []byte, v Version) ([]byte, error) {
	sp := byte(0)
	if c.SessionPresent && v != V31 {
		sp = 1
	}
	if sp == 1 && c.ReasonCode != Success {
		return dst, newError(CONNACK, "session present", "set with a failure code [MQTT-3.2.2-4]", ProtocolError)
	}
	if v != V5 {
		return append(dst, byte(CONNACK)<<4, 2, sp, ConnackV3(c.ReasonCode)), nil
	}
	if !connackCodes.has(c.ReasonCode) {
		return dst, newError(CONNACK, "reason code", "not defined for CONNACK", ProtocolError)
	}
	propLen, err := c.Properties.size(CONNACK, CONNACK)
	if err != nil {
		return dst, err
	}
	if dst, err = appendHeader(dst, CONNACK, 0, 2+sizeVBI(propLen)+propLen); err != nil {
		return dst, err
	}
	dst = append(dst, sp, byte(c.ReasonCode))
	return c.Properties.appendN(dst, CONNACK, propLen), nil
}
