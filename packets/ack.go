package packets

import "github.com/ternmq/broker/packets/codec"

// Ack is PUBACK, PUBREC, PUBREL or PUBCOMP, as Kind says [MQTT-3.4 to 3.7]:
// the four share one layout (packet identifier, then in v5 a reason code and
// properties, both omitted on the wire when Success with no properties).
type Ack struct {
	Kind       Type // PUBACK, PUBREC, PUBREL or PUBCOMP
	PacketID   uint16
	ReasonCode ReasonCode
	Properties Properties
}

// Reason codes allowed on each acknowledgement [MQTT-3.4.2.1, 3.5.2.1,
// 3.6.2.1, 3.7.2.1].
var (
	pubackCodes = newReasonSet(Success, NoMatchingSubscribers, UnspecifiedError,
		ImplementationSpecificError, NotAuthorized, TopicNameInvalid, PacketIdentifierInUse,
		QuotaExceeded, PayloadFormatInvalid)
	pubrelCodes = newReasonSet(Success, PacketIdentifierNotFound)
)

// NewAck returns an Ack of the given kind (PUBACK, PUBREC, PUBREL or
// PUBCOMP) for packet identifier id, with reason code Success.
func NewAck(kind Type, id uint16) *Ack { return &Ack{Kind: kind, PacketID: id} }

// Type returns Kind.
func (a *Ack) Type() Type { return a.Kind }

// Reset clears a for reuse. Kind is kept, so that a pooled Ack can decode
// the next packet of its kind.
func (a *Ack) Reset() {
	a.Properties.Reset()
	*a = Ack{Kind: a.Kind, Properties: a.Properties}
}

func (a *Ack) codes() *reasonSet {
	if a.Kind == PUBREL || a.Kind == PUBCOMP {
		return &pubrelCodes
	}
	return &pubackCodes
}

func (a *Ack) checkKind() error {
	if a.Kind < PUBACK || a.Kind > PUBCOMP {
		return newError(a.Kind, "kind", "Ack.Kind is not PUBACK, PUBREC, PUBREL or PUBCOMP", ImplementationSpecificError)
	}
	return nil
}

// Decode parses the body of the packet type in a.Kind, which the caller sets
// first (Decode and NewAck do). PUBREL's flags must be 0b0010
// [MQTT-3.6.1-1], the others' 0. In v5 a remaining length of 2 means
// Success without properties and 3 a reason code without properties
// [MQTT-3.4.2.1]; 3.1.x acks are exactly 2 bytes long.
func (a *Ack) Decode(flags byte, body []byte, v Version) error {
	if err := a.checkKind(); err != nil {
		return err
	}
	want := byte(0)
	if a.Kind == PUBREL {
		want = 0x02
	}
	if err := checkFlags(a.Kind, flags, want); err != nil {
		return err
	}
	a.ReasonCode = Success
	a.Properties.Reset()
	d := dec{b: body, pt: a.Kind}
	var err error
	if a.PacketID, err = d.packetID(v); err != nil {
		return err
	}
	if v == V5 && len(d.b) > 0 {
		rc, _ := d.u8("reason code")
		a.ReasonCode = ReasonCode(rc)
		if !a.codes().has(a.ReasonCode) {
			return d.malformed("reason code", "not allowed on "+a.Kind.String())
		}
		if len(d.b) > 0 {
			if err = d.props(&a.Properties, a.Kind); err != nil {
				return err
			}
		}
	}
	return d.end()
}

// Append appends the acknowledgement. In v5 the reason code is omitted when
// it is Success without properties, and the property length when there are
// no properties; 3.1.x ignores both.
func (a *Ack) Append(dst []byte, v Version) ([]byte, error) {
	if err := a.checkKind(); err != nil {
		return dst, err
	}
	if err := validPacketID(a.Kind, a.PacketID); err != nil {
		return dst, err
	}
	rem, propLen := 2, 0
	if v == V5 {
		if !a.codes().has(a.ReasonCode) {
			return dst, newError(a.Kind, "reason code", "not allowed on "+a.Kind.String(), ProtocolError)
		}
		var err error
		if propLen, err = a.Properties.size(a.Kind, a.Kind); err != nil {
			return dst, err
		}
		if propLen > 0 {
			rem = 3 + sizeVBI(propLen) + propLen
		} else if a.ReasonCode != Success {
			rem = 3
		}
	}
	flags := byte(0)
	if a.Kind == PUBREL {
		flags = 0x02
	}
	dst, err := appendHeader(dst, a.Kind, flags, rem)
	if err != nil {
		return dst, err
	}
	dst = codec.AppendUint16(dst, a.PacketID)
	if rem > 2 {
		dst = append(dst, byte(a.ReasonCode))
	}
	if rem > 3 {
		dst = a.Properties.appendN(dst, a.Kind, propLen)
	}
	return dst, nil
}
