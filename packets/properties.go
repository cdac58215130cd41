package packets

// PropID is an MQTT 5 property identifier [MQTT-2.2.2.2].
type PropID byte

// The 27 property identifiers of MQTT 5.0.
const (
	PropPayloadFormat        PropID = 0x01 // byte, PUBLISH and will
	PropMessageExpiry        PropID = 0x02 // four byte integer, PUBLISH and will
	PropContentType          PropID = 0x03 // UTF-8 string, PUBLISH and will
	PropResponseTopic        PropID = 0x08 // UTF-8 string, PUBLISH and will
	PropCorrelationData      PropID = 0x09 // binary data, PUBLISH and will
	PropSubscriptionID       PropID = 0x0B // variable byte integer, PUBLISH (repeatable) and SUBSCRIBE
	PropSessionExpiry        PropID = 0x11 // four byte integer, CONNECT, CONNACK, DISCONNECT
	PropAssignedClientID     PropID = 0x12 // UTF-8 string, CONNACK
	PropServerKeepAlive      PropID = 0x13 // two byte integer, CONNACK
	PropAuthMethod           PropID = 0x15 // UTF-8 string, CONNECT, CONNACK, AUTH
	PropAuthData             PropID = 0x16 // binary data, CONNECT, CONNACK, AUTH
	PropRequestProblemInfo   PropID = 0x17 // byte, CONNECT
	PropWillDelay            PropID = 0x18 // four byte integer, will
	PropRequestResponseInfo  PropID = 0x19 // byte, CONNECT
	PropResponseInfo         PropID = 0x1A // UTF-8 string, CONNACK
	PropServerReference      PropID = 0x1C // UTF-8 string, CONNACK, DISCONNECT
	PropReasonString         PropID = 0x1F // UTF-8 string, acks, DISCONNECT, AUTH
	PropReceiveMaximum       PropID = 0x21 // two byte integer, CONNECT, CONNACK
	PropTopicAliasMaximum    PropID = 0x22 // two byte integer, CONNECT, CONNACK
	PropTopicAlias           PropID = 0x23 // two byte integer, PUBLISH
	PropMaximumQoS           PropID = 0x24 // byte, CONNACK
	PropRetainAvailable      PropID = 0x25 // byte, CONNACK
	PropUserProperty         PropID = 0x26 // UTF-8 string pair, every packet with properties (repeatable)
	PropMaximumPacketSize    PropID = 0x27 // four byte integer, CONNECT, CONNACK
	PropWildcardSubAvailable PropID = 0x28 // byte, CONNACK
	PropSubIDAvailable       PropID = 0x29 // byte, CONNACK
	PropSharedSubAvailable   PropID = 0x2A // byte, CONNACK
)

// PropSet is a set of property identifiers: bit n is identifier n.
type PropSet uint64

// Has reports whether id is in the set.
func (s PropSet) Has(id PropID) bool { return s&(1<<id) != 0 }

// Add puts id in the set.
func (s *PropSet) Add(id PropID) { *s |= 1 << id }

// Del takes id out of the set.
func (s *PropSet) Del(id PropID) { *s &^= 1 << id }

// UserProperty is one name/value pair of the User Property (0x26). Order and
// duplicates are kept as they arrived [MQTT-3.3.2-18].
type UserProperty struct {
	Key   []byte
	Value []byte
}

// Properties holds the MQTT 5 properties of one packet (or of a will). A
// property is sent when its identifier is in Present; SubscriptionIDs and User
// are sent once per element. After Decode, Present lists what arrived and the
// byte slices alias the decoded buffer.
type Properties struct {
	Present PropSet

	PayloadFormat        byte
	MessageExpiry        uint32
	ContentType          []byte
	ResponseTopic        []byte
	CorrelationData      []byte
	SubscriptionIDs      []uint32
	SessionExpiry        uint32
	AssignedClientID     []byte
	ServerKeepAlive      uint16
	AuthMethod           []byte
	AuthData             []byte
	RequestProblemInfo   byte
	WillDelay            uint32
	RequestResponseInfo  byte
	ResponseInfo         []byte
	ServerReference      []byte
	ReasonString         []byte
	ReceiveMaximum       uint16
	TopicAliasMaximum    uint16
	TopicAlias           uint16
	MaximumQoS           byte
	RetainAvailable      byte
	User                 []UserProperty
	MaximumPacketSize    uint32
	WildcardSubAvailable byte
	SubIDAvailable       byte
	SharedSubAvailable   byte
}
