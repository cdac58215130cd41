package packets

import (
	"math/bits"

	"github.com/ternmq/broker/packets/codec"
)

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

// value returns the stored value of a property that is not repeatable: a
// number or a byte slice.
func (p *Properties) value(id PropID) (uint32, []byte) {
	switch id {
	case PropPayloadFormat:
		return uint32(p.PayloadFormat), nil
	case PropMessageExpiry:
		return p.MessageExpiry, nil
	case PropContentType:
		return 0, p.ContentType
	case PropResponseTopic:
		return 0, p.ResponseTopic
	case PropCorrelationData:
		return 0, p.CorrelationData
	case PropSessionExpiry:
		return p.SessionExpiry, nil
	case PropAssignedClientID:
		return 0, p.AssignedClientID
	case PropServerKeepAlive:
		return uint32(p.ServerKeepAlive), nil
	case PropAuthMethod:
		return 0, p.AuthMethod
	case PropAuthData:
		return 0, p.AuthData
	case PropRequestProblemInfo:
		return uint32(p.RequestProblemInfo), nil
	case PropWillDelay:
		return p.WillDelay, nil
	case PropRequestResponseInfo:
		return uint32(p.RequestResponseInfo), nil
	case PropResponseInfo:
		return 0, p.ResponseInfo
	case PropServerReference:
		return 0, p.ServerReference
	case PropReasonString:
		return 0, p.ReasonString
	case PropReceiveMaximum:
		return uint32(p.ReceiveMaximum), nil
	case PropTopicAliasMaximum:
		return uint32(p.TopicAliasMaximum), nil
	case PropTopicAlias:
		return uint32(p.TopicAlias), nil
	case PropMaximumQoS:
		return uint32(p.MaximumQoS), nil
	case PropRetainAvailable:
		return uint32(p.RetainAvailable), nil
	case PropMaximumPacketSize:
		return p.MaximumPacketSize, nil
	case PropWildcardSubAvailable:
		return uint32(p.WildcardSubAvailable), nil
	case PropSubIDAvailable:
		return uint32(p.SubIDAvailable), nil
	case PropSharedSubAvailable:
		return uint32(p.SharedSubAvailable), nil
	}
	return 0, nil
}

const repeatedProps = PropSet(1<<PropSubscriptionID | 1<<PropUserProperty)

// emitted is the set of identifiers Append writes for packet type t: those
// in Present, plus Subscription Identifier and User Property when their
// slices are not empty, minus what t does not allow.
func (p *Properties) emitted(t Type) PropSet {
	s := p.Present &^ repeatedProps
	if len(p.SubscriptionIDs) > 0 {
		s.Add(PropSubscriptionID)
	}
	if len(p.User) > 0 {
		s.Add(PropUserProperty)
	}
	return s & Allowed(t)
}

// Len returns the number of bytes Append writes for packet type t, without
// the property length in front of them. Properties that t does not allow
// are not counted, as Append does not write them.
func (p *Properties) Len(t Type) int {
	n, _ := p.size(t, t)
	return n
}

// size is Len with validation: a string longer than 65535 bytes, a
// subscription identifier out of range or repeated on SUBSCRIBE, and a total
// above the maximum remaining length fail.
func (p *Properties) size(t, pt Type) (int, error) {
	set := p.emitted(t)
	if set == 0 {
		return 0, nil
	}
	n := 0
	for s := set; s != 0; s &= s - 1 {
		id := PropID(bits.TrailingZeros64(uint64(s)))
		spec := &propSpecs[id]
		switch spec.kind {
		case kindByte:
			n += 2
		case kindUint16:
			n += 3
		case kindUint32:
			n += 5
		case kindVBI:
			if t == SUBSCRIBE && len(p.SubscriptionIDs) > 1 {
				return 0, newError(pt, "properties", "more than one subscription identifier", ProtocolError)
			}
			for _, v := range p.SubscriptionIDs {
				if v == 0 || v > codec.MaxVBI {
					return 0, newError(pt, "properties", "subscription identifier out of range", ProtocolError)
				}
				n += 1 + codec.SizeVBI(v)
			}
		case kindString, kindBinary:
			_, s := p.value(id)
			l, err := strLen(pt, spec.name, s)
			if err != nil {
				return 0, err
			}
			n += 1 + l
		case kindPair:
			for _, u := range p.User {
				if len(u.Key) > codec.MaxString || len(u.Value) > codec.MaxString {
					return 0, newError(pt, spec.name, "longer than 65535 bytes", MalformedPacket)
				}
				n += 5 + len(u.Key) + len(u.Value)
			}
		}
	}
	if n > maxRemaining {
		return 0, newError(pt, "properties", "longer than 268435455 bytes", PacketTooLarge)
	}
	return n, nil
}

// Append appends the property length and the properties allowed on packet
// type t (Will for will properties): each identifier in Present, one
// Subscription Identifier per element of SubscriptionIDs and one User
// Property per element of User, in identifier order. Properties that t does
// not allow are skipped, so properties taken from one packet (or a will) can
// be reused on another as they are.
func (p *Properties) Append(dst []byte, t Type) ([]byte, error) {
	pt := t
	if t == Will {
		pt = CONNECT
	}
	n, err := p.size(t, pt)
	if err != nil {
		return dst, err
	}
	return p.appendN(dst, t, n), nil
}

// appendN appends property length n and the properties; n is p.size(t).
func (p *Properties) appendN(dst []byte, t Type, n int) []byte {
	dst = codec.AppendVBI(dst, uint32(n))
	if n == 0 {
		return dst
	}
	for s := p.emitted(t); s != 0; s &= s - 1 {
		id := PropID(bits.TrailingZeros64(uint64(s)))
		switch propSpecs[id].kind {
		case kindByte:
			v, _ := p.value(id)
			dst = append(dst, byte(id), byte(v))
		case kindUint16:
			v, _ := p.value(id)
			dst = append(dst, byte(id), byte(v>>8), byte(v))
		case kindUint32:
			v, _ := p.value(id)
			dst = codec.AppendUint32(append(dst, byte(id)), v)
		case kindVBI:
			for _, v := range p.SubscriptionIDs {
				dst = codec.AppendVBI(append(dst, byte(id)), v)
			}
		case kindString, kindBinary:
			_, v := p.value(id)
			dst = codec.AppendBinary(append(dst, byte(id)), v)
		case kindPair:
			for _, u := range p.User {
				dst = codec.AppendStringPair(append(dst, byte(id)), u.Key, u.Value)
			}
		}
	}
	return dst
}
