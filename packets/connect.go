package packets

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
