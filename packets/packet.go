package packets

// Version is the protocol level carried in CONNECT.
type Version byte

// Protocol levels understood by this package.
const (
	// V31 is MQTT 3.1, protocol name "MQIsdp", level 3.
	V31 Version = 3
	// V311 is MQTT 3.1.1, protocol name "MQTT", level 4.
	V311 Version = 4
	// V5 is MQTT 5.0, protocol name "MQTT", level 5.
	V5 Version = 5
)

// String returns the human name of the version ("3.1", "3.1.1", "5.0").
func (v Version) String() string {
	switch v {
	case V31:
		return "3.1"
	case V311:
		return "3.1.1"
	case V5:
		return "5.0"
	}
	return "unknown"
}

// Type is an MQTT control packet type, the high nibble of the first byte.
type Type byte

// Control packet types [MQTT-2.1.2].
const (
	CONNECT     Type = 1
	CONNACK     Type = 2
	PUBLISH     Type = 3
	PUBACK      Type = 4
	PUBREC      Type = 5
	PUBREL      Type = 6
	PUBCOMP     Type = 7
	SUBSCRIBE   Type = 8
	SUBACK      Type = 9
	UNSUBSCRIBE Type = 10
	UNSUBACK    Type = 11
	PINGREQ     Type = 12
	PINGRESP    Type = 13
	DISCONNECT  Type = 14
	AUTH        Type = 15
)

var typeNames = [...]string{"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL", "PUBCOMP",
	"SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"}

// String returns the packet type's name as the specification spells it.
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "INVALID"
}

// FixedHeader is the first part of every packet: type, flags and remaining length.
type FixedHeader struct {
	Type      Type
	Flags     byte // low nibble of the first byte
	Remaining int  // remaining length: bytes after the fixed header
}

// Packet is implemented by every control packet type of this package.
//
// Decode parses a packet body (the bytes after the fixed header); every
// variable-length field of the result aliases body (see the package doc for
// the lifetime rule). Append appends the complete wire form, fixed header
// included, to dst for protocol version v and returns the extended slice.
// Reset clears the packet for reuse and keeps the capacity of its slices.
type Packet interface {
	Type() Type
	Decode(flags byte, body []byte, v Version) error
	Append(dst []byte, v Version) ([]byte, error)
	Reset()
}
