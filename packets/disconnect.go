package packets

// Disconnect is the DISCONNECT packet [MQTT-3.14]. ReasonCode and Properties
// exist only in v5.
type Disconnect struct {
	ReasonCode ReasonCode
	Properties Properties
}

// disconnectCodes are the reason codes a DISCONNECT may carry [MQTT-3.14.2.1].
var disconnectCodes = newReasonSet(NormalDisconnection, DisconnectWithWill, UnspecifiedError,
	MalformedPacket, ProtocolError, ImplementationSpecificError, NotAuthorized, ServerBusy,
	ServerShuttingDown, KeepAliveTimeout, SessionTakenOver, TopicFilterInvalid, TopicNameInvalid,
	ReceiveMaximumExceeded, TopicAliasInvalid, PacketTooLarge, MessageRateTooHigh, QuotaExceeded,
	AdministrativeAction, PayloadFormatInvalid, RetainNotSupported, QoSNotSupported,
	UseAnotherServer, ServerMoved, SharedSubscriptionsNotSupported, ConnectionRateExceeded,
	MaximumConnectTime, SubscriptionIdentifiersNotSupported, WildcardSubscriptionsNotSupported)

// Type returns DISCONNECT.
func (d *Disconnect) Type() Type { return DISCONNECT }

// Reset clears d for reuse and keeps the capacity of its property slices.
func (d *Disconnect) Reset() {
	d.Properties.Reset()
	*d = Disconnect{Properties: d.Properties}
}

// Decode parses a DISCONNECT body: empty in 3.1.x; in v5 empty (normal
// disconnection), a reason code alone, or a reason code and properties
// [MQTT-3.14.2.1].
func (d *Disconnect) Decode(flags byte, body []byte, v Version) error {
	d.Reset()
	if v != V5 {
		return decodeEmpty(DISCONNECT, flags, body)
	}
	return decodeReasonProps(DISCONNECT, flags, body, &disconnectCodes, &d.ReasonCode, &d.Properties)
}

// Append appends the DISCONNECT: two bytes (0xE0 0x00) in 3.1.x and in v5
// for a normal disconnection without properties; otherwise the reason code
// and, when there are any, the properties.
func (d *Disconnect) Append(dst []byte, v Version) ([]byte, error) {
	if v != V5 {
		return append(dst, byte(DISCONNECT)<<4, 0), nil
	}
	return appendReasonProps(dst, DISCONNECT, &disconnectCodes, d.ReasonCode, &d.Properties, false)
}

// decodeReasonProps decodes the body shared by DISCONNECT and AUTH: an
// optional reason code followed by optional properties.
func decodeReasonProps(pt Type, flags byte, body []byte, codes *reasonSet, rc *ReasonCode, p *Properties) error {
	if err := checkFlags(pt, flags, 0); err != nil {
		return err
	}
	if len(body) == 0 {
		return nil
	}
	dc := dec{b: body, pt: pt}
	c, _ := dc.u8("reason code")
	*rc = ReasonCode(c)
	if !codes.has(*rc) {
		return dc.malformed("reason code", "not defined for "+pt.String())
	}
	if len(dc.b) > 0 {
		if err := dc.props(p, pt); err != nil {
			return err
		}
	}
	return dc.end()
}

// appendReasonProps appends a DISCONNECT or AUTH. The body is empty for
// Success without properties; the property length is written when there are
// properties or when alwaysProps is set.
func appendReasonProps(dst []byte, pt Type, codes *reasonSet, rc ReasonCode, p *Properties, alwaysProps bool) ([]byte, error) {
	if !codes.has(rc) {
		return dst, newError(pt, "reason code", "not defined for "+pt.String(), ProtocolError)
	}
	propLen, err := p.size(pt, pt)
	if err != nil {
		return dst, err
	}
	rem := 0
	switch {
	case propLen > 0 || (alwaysProps && rc != Success):
		rem = 1 + sizeVBI(propLen) + propLen
	case rc != Success:
		rem = 1
	}
	if dst, err = appendHeader(dst, pt, 0, rem); err != nil {
		return dst, err
	}
	if rem > 0 {
		dst = append(dst, byte(rc))
	}
	if rem > 1 {
		dst = p.appendN(dst, pt, propLen)
	}
	return dst, nil
}
