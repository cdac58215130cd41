package packets

import (
	"bytes"
	"strconv"

	"github.com/ternmq/broker/packets/codec"
)

// Connect is the CONNECT packet [MQTT-3.1]. Version is read from the packet
// itself: Decode ignores its version argument and Append encodes Version.
type Connect struct {
	ProtocolName []byte  // "MQTT" (3.1.1, 5) or "MQIsdp" (3.1); Append fills it from Version when empty
	Version      Version // protocol level
	CleanStart   bool    // Clean Session in 3.1.x, Clean Start in 5
	KeepAlive    uint16  // seconds
	Properties   Properties
	ClientID     []byte

	WillFlag       bool
	WillQoS        byte
	WillRetain     bool
	WillProperties Properties
	WillTopic      []byte
	WillPayload    []byte

	UsernameFlag bool
	Username     []byte
	PasswordFlag bool
	Password     []byte
}

// Protocol names of CONNECT [MQTT-3.1.2.1].
var (
	nameMQTT   = []byte("MQTT")
	nameMQIsdp = []byte("MQIsdp")
)

// protocolName returns the protocol name that goes with level v.
func protocolName(v Version) []byte {
	if v == V31 {
		return nameMQIsdp
	}
	return nameMQTT
}

// Type returns CONNECT.
func (c *Connect) Type() Type { return CONNECT }

// Reset clears c for reuse and keeps the capacity of its property slices.
func (c *Connect) Reset() {
	c.Properties.Reset()
	c.WillProperties.Reset()
	*c = Connect{Properties: c.Properties, WillProperties: c.WillProperties}
}

// Decode parses a CONNECT body; the version argument is ignored, the level
// comes from the packet and is stored in Version. An unknown level is
// UnsupportedProtocolVersion [MQTT-3.1.2-2]; a known level with the wrong
// protocol name ("MQIsdp" goes with 3, "MQTT" with 4 and 5) is a
// ProtocolError [MQTT-3.1.2-1]. It also rejects, as MalformedPacket, the
// reserved flag [MQTT-3.1.2-3], will QoS or retain without the will flag
// [MQTT-3.1.2-13, MQTT-3.1.2-15], will QoS 3 [MQTT-3.1.2-14] and, before v5,
// a password without a user name [MQTT-3.1.2-22]; and a will topic with a
// wildcard (TopicNameInvalid) or empty (ProtocolError). Client identifiers
// of any length are accepted, 3.1's limit of 23 bytes included: the broker
// decides.
func (c *Connect) Decode(flags byte, body []byte, _ Version) error {
	c.Reset()
	if err := checkFlags(CONNECT, flags, 0); err != nil {
		return err
	}
	d := dec{b: body, pt: CONNECT}
	var err error
	if c.ProtocolName, err = d.str("protocol name"); err != nil {
		return err
	}
	level, err := d.u8("protocol level")
	if err != nil {
		return err
	}
	c.Version = Version(level)
	switch c.Version {
	case V31, V311, V5:
		if !bytes.Equal(c.ProtocolName, protocolName(c.Version)) {
			return d.protocol("protocol name", "does not match the protocol level [MQTT-3.1.2-1]")
		}
	default:
		return newError(CONNECT, "protocol level", "unsupported level "+strconv.Itoa(int(level))+" [MQTT-3.1.2-2]", UnsupportedProtocolVersion)
	}
	cf, err := d.u8("connect flags")
	if err != nil {
		return err
	}
	if err = c.setFlags(cf); err != nil {
		return err
	}
	if c.KeepAlive, err = d.u16("keep alive"); err != nil {
		return err
	}
	if c.Version == V5 {
		if err = d.props(&c.Properties, CONNECT); err != nil {
			return err
		}
	}
	if c.ClientID, err = d.str("client identifier"); err != nil {
		return err
	}
	if c.WillFlag {
		if c.Version == V5 {
			if err = d.props(&c.WillProperties, Will); err != nil {
				return err
			}
		}
		if c.WillTopic, err = d.str("will topic"); err != nil {
			return err
		}
		if err = checkWillTopic(c.WillTopic); err != nil {
			return err
		}
		if c.WillPayload, err = d.bin("will payload"); err != nil {
			return err
		}
	}
	if c.UsernameFlag {
		if c.Username, err = d.str("user name"); err != nil {
			return err
		}
	}
	if c.PasswordFlag {
		if c.Password, err = d.bin("password"); err != nil {
			return err
		}
	}
	return d.end()
}

// setFlags unpacks and checks the connect flags byte [MQTT-3.1.2.2].
func (c *Connect) setFlags(cf byte) error {
	c.CleanStart = cf&0x02 != 0
	c.WillFlag = cf&0x04 != 0
	c.WillQoS = cf >> 3 & 3
	c.WillRetain = cf&0x20 != 0
	c.PasswordFlag = cf&0x40 != 0
	c.UsernameFlag = cf&0x80 != 0
	return c.checkFlags(cf&0x01 != 0)
}

// checkFlags applies the connect flag rules shared by Decode and Append.
func (c *Connect) checkFlags(reserved bool) error {
	const field = "connect flags"
	switch {
	case reserved:
		return newError(CONNECT, field, "reserved bit set [MQTT-3.1.2-3]", MalformedPacket)
	case !c.WillFlag && c.WillQoS != 0:
		return newError(CONNECT, field, "will QoS without will flag [MQTT-3.1.2-13]", MalformedPacket)
	case !c.WillFlag && c.WillRetain:
		return newError(CONNECT, field, "will retain without will flag [MQTT-3.1.2-15]", MalformedPacket)
	case c.WillQoS > 2:
		return newError(CONNECT, field, "will QoS 3 [MQTT-3.1.2-14]", MalformedPacket)
	case c.Version != V5 && c.PasswordFlag && !c.UsernameFlag:
		return newError(CONNECT, field, "password without user name [MQTT-3.1.2-22]", MalformedPacket)
	}
	return nil
}

// checkWillTopic applies the topic name rules to a will topic.
func checkWillTopic(topic []byte) error {
	if len(topic) == 0 {
		return newError(CONNECT, "will topic", "empty [MQTT-4.7.3-1]", ProtocolError)
	}
	if hasWildcard(topic) {
		return newError(CONNECT, "will topic", "contains a wildcard [MQTT-3.3.2-2]", TopicNameInvalid)
	}
	return nil
}

// Append appends the CONNECT for c.Version (v when Version is 0). An empty
// ProtocolName is filled in from the level. The will, user name and
// password are written when their flags are set.
func (c *Connect) Append(dst []byte, v Version) ([]byte, error) {
	w := *c // a copy, so that Version and ProtocolName can be filled in
	if w.Version == 0 {
		w.Version = v
	}
	if w.Version != V31 && w.Version != V311 && w.Version != V5 {
		return dst, newError(CONNECT, "protocol level", "unsupported level", UnsupportedProtocolVersion)
	}
	if len(w.ProtocolName) == 0 {
		w.ProtocolName = protocolName(w.Version)
	}
	if err := w.checkFlags(false); err != nil {
		return dst, err
	}
	rem, propLen, willPropLen, err := w.size()
	if err != nil {
		return dst, err
	}
	if dst, err = appendHeader(dst, CONNECT, 0, rem); err != nil {
		return dst, err
	}
	dst = codec.AppendString(dst, w.ProtocolName)
	dst = append(dst, byte(w.Version), w.flagsByte())
	dst = codec.AppendUint16(dst, w.KeepAlive)
	if w.Version == V5 {
		dst = w.Properties.appendN(dst, CONNECT, propLen)
	}
	dst = codec.AppendString(dst, w.ClientID)
	if w.WillFlag {
		if w.Version == V5 {
			dst = w.WillProperties.appendN(dst, Will, willPropLen)
		}
		dst = codec.AppendString(dst, w.WillTopic)
		dst = codec.AppendBinary(dst, w.WillPayload)
	}
	if w.UsernameFlag {
		dst = codec.AppendString(dst, w.Username)
	}
	if w.PasswordFlag {
		dst = codec.AppendBinary(dst, w.Password)
	}
	return dst, nil
}

func (c *Connect) flagsByte() byte {
	f := c.WillQoS << 3
	for _, b := range [...]struct {
		set bool
		bit byte
	}{{c.CleanStart, 0x02}, {c.WillFlag, 0x04}, {c.WillRetain, 0x20}, {c.PasswordFlag, 0x40}, {c.UsernameFlag, 0x80}} {
		if b.set {
			f |= b.bit
		}
	}
	return f
}

// size returns the remaining length and the two property lengths.
func (c *Connect) size() (rem, propLen, willPropLen int, err error) {
	fields := [...]struct {
		name string
		s    []byte
		on   bool
	}{
		{"protocol name", c.ProtocolName, true},
		{"client identifier", c.ClientID, true},
		{"will topic", c.WillTopic, c.WillFlag},
		{"will payload", c.WillPayload, c.WillFlag},
		{"user name", c.Username, c.UsernameFlag},
		{"password", c.Password, c.PasswordFlag},
	}
	rem = 4 // level, flags, keep alive
	for _, f := range fields {
		if !f.on {
			continue
		}
		n, err := strLen(CONNECT, f.name, f.s)
		if err != nil {
			return 0, 0, 0, err
		}
		rem += n
	}
	if c.Version == V5 {
		if propLen, err = c.Properties.size(CONNECT, CONNECT); err != nil {
			return 0, 0, 0, err
		}
		rem += sizeVBI(propLen) + propLen
		if c.WillFlag {
			if willPropLen, err = c.WillProperties.size(Will, CONNECT); err != nil {
				return 0, 0, 0, err
			}
			rem += sizeVBI(willPropLen) + willPropLen
		}
	}
	return rem, propLen, willPropLen, nil
}
