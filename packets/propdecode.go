package packets

import "github.com/ternmq/broker/packets/codec"

// Reset clears p for reuse. The SubscriptionIDs and User slices keep their
// capacity; their elements are cleared so that no stale buffer stays
// reachable.
func (p *Properties) Reset() {
	clear(p.User)
	*p = Properties{SubscriptionIDs: p.SubscriptionIDs[:0], User: p.User[:0]}
}

// IsZero reports whether p holds no property at all.
func (p *Properties) IsZero() bool {
	return p.Present == 0 && len(p.User) == 0 && len(p.SubscriptionIDs) == 0
}

// Decode reads a property length and the properties that follow it from b,
// as found on packet type t (Will for will properties), and returns the
// bytes after them. p is reset first; byte slices alias b. It enforces the
// rules of table 2-4: an identifier that is unknown or not allowed on t is a
// MalformedPacket [MQTT-2.2.2.2], a property other than User Property (and
// Subscription Identifier on PUBLISH) given twice is a ProtocolError, byte
// properties must be 0 or 1, Receive Maximum, Maximum Packet Size and
// Subscription Identifier must not be 0 (ProtocolError), Topic Alias must not
// be 0 (TopicAliasInvalid), and Authentication Data needs an Authentication
// Method (ProtocolError).
func (p *Properties) Decode(b []byte, t Type) (rest []byte, err error) {
	pt := t
	if t == Will {
		pt = CONNECT
	}
	return p.decode(b, t, pt)
}

// decode is Decode with the packet type used in errors (CONNECT for Will).
func (p *Properties) decode(b []byte, t, pt Type) ([]byte, error) {
	field := "properties"
	if t == Will {
		field = "will properties"
	}
	p.Reset()
	n, w, err := codec.ReadVBI(b)
	if err != nil {
		return b, newError(pt, field, "property length: "+err.Error(), MalformedPacket)
	}
	b = b[w:]
	if int(n) > len(b) {
		return b, newError(pt, field, "property length exceeds the packet", MalformedPacket)
	}
	rest := b[n:]
	b = b[:n:n]
	ok := allowed[t]
	for len(b) > 0 {
		// Identifiers are variable byte integers; all defined ones fit one byte.
		id64, w, err := codec.ReadVBI(b)
		if err != nil {
			return rest, newError(pt, field, "property identifier: "+err.Error(), MalformedPacket)
		}
		b = b[w:]
		if id64 >= uint32(len(propSpecs)) || propSpecs[id64].kind == kindNone {
			return rest, newError(pt, field, "unknown property identifier", MalformedPacket)
		}
		id := PropID(id64)
		spec := &propSpecs[id]
		if !ok.Has(id) {
			return rest, newError(pt, field, spec.name+" is not allowed on "+t.propTarget()+" [MQTT-2.2.2.2]", MalformedPacket)
		}
		if p.Present.Has(id) && spec.repeat&(1<<t) == 0 {
			return rest, newError(pt, field, spec.name+" included more than once", ProtocolError)
		}
		p.Present.Add(id)
		var num uint32
		var s1, s2 []byte
		switch spec.kind {
		case kindByte:
			if len(b) < 1 {
				err = codec.ErrShort
				break
			}
			num, b = uint32(b[0]), b[1:]
			if num > 1 {
				return rest, newError(pt, field, spec.name+" is neither 0 nor 1", ProtocolError)
			}
		case kindUint16:
			var v uint16
			v, b, err = codec.ReadUint16(b)
			num = uint32(v)
		case kindUint32:
			num, b, err = codec.ReadUint32(b)
		case kindVBI:
			num, w, err = codec.ReadVBI(b)
			b = b[w:]
		case kindString:
			s1, b, err = codec.ReadString(b)
		case kindBinary:
			s1, b, err = codec.ReadBinary(b)
		case kindPair:
			s1, s2, b, err = codec.ReadStringPair(b)
		}
		if err != nil {
			return rest, newError(pt, field, spec.name+": "+err.Error(), MalformedPacket)
		}
		if num == 0 && spec.zeroCode != 0 {
			return rest, newError(pt, field, spec.name+" is 0", spec.zeroCode)
		}
		p.set(id, num, s1, s2)
	}
	if p.Present.Has(PropAuthData) && !p.Present.Has(PropAuthMethod) {
		return rest, newError(pt, field, "authentication data without authentication method", ProtocolError)
	}
	return rest, nil
}

// propTarget names t in error messages.
func (t Type) propTarget() string {
	if t == Will {
		return "a will"
	}
	return t.String()
}

// set stores one decoded value.
func (p *Properties) set(id PropID, n uint32, s1, s2 []byte) {
	switch id {
	case PropPayloadFormat:
		p.PayloadFormat = byte(n)
	case PropMessageExpiry:
		p.MessageExpiry = n
	case PropContentType:
		p.ContentType = s1
	case PropResponseTopic:
		p.ResponseTopic = s1
	case PropCorrelationData:
		p.CorrelationData = s1
	case PropSubscriptionID:
		p.SubscriptionIDs = append(p.SubscriptionIDs, n)
	case PropSessionExpiry:
		p.SessionExpiry = n
	case PropAssignedClientID:
		p.AssignedClientID = s1
	case PropServerKeepAlive:
		p.ServerKeepAlive = uint16(n)
	case PropAuthMethod:
		p.AuthMethod = s1
	case PropAuthData:
		p.AuthData = s1
	case PropRequestProblemInfo:
		p.RequestProblemInfo = byte(n)
	case PropWillDelay:
		p.WillDelay = n
	case PropRequestResponseInfo:
		p.RequestResponseInfo = byte(n)
	case PropResponseInfo:
		p.ResponseInfo = s1
	case PropServerReference:
		p.ServerReference = s1
	case PropReasonString:
		p.ReasonString = s1
	case PropReceiveMaximum:
		p.ReceiveMaximum = uint16(n)
	case PropTopicAliasMaximum:
		p.TopicAliasMaximum = uint16(n)
	case PropTopicAlias:
		p.TopicAlias = uint16(n)
	case PropMaximumQoS:
		p.MaximumQoS = byte(n)
	case PropRetainAvailable:
		p.RetainAvailable = byte(n)
	case PropUserProperty:
		p.User = append(p.User, UserProperty{Key: s1, Value: s2})
	case PropMaximumPacketSize:
		p.MaximumPacketSize = n
	case PropWildcardSubAvailable:
		p.WildcardSubAvailable = byte(n)
	case PropSubIDAvailable:
		p.SubIDAvailable = byte(n)
	case PropSharedSubAvailable:
		p.SharedSubAvailable = byte(n)
	}
}
