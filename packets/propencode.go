package packets

import (
	"math/bits"

	"github.com/ternmq/broker/packets/codec"
)

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
