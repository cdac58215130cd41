package packets

// Will stands for the will properties of a CONNECT wherever a property rule
// is looked up by packet type (Properties.Decode, Properties.Append,
// Properties.Len, Allowed). 0 is not a control packet type.
const Will Type = 0

// propKind is the data type of a property value [MQTT-2.2.2.2].
type propKind uint8

const (
	kindNone   propKind = iota // not a property identifier
	kindByte                   // byte, always 0 or 1
	kindUint16                 // two byte integer
	kindUint32                 // four byte integer
	kindVBI                    // variable byte integer
	kindString                 // UTF-8 encoded string
	kindBinary                 // binary data
	kindPair                   // UTF-8 string pair
)

// on is a set of packet types, one bit per Type; bit 0 is the will.
type on uint32

const (
	onWill        on = 1 << Will
	onConnect     on = 1 << CONNECT
	onConnack     on = 1 << CONNACK
	onPublish     on = 1 << PUBLISH
	onPuback      on = 1 << PUBACK
	onPubrec      on = 1 << PUBREC
	onPubrel      on = 1 << PUBREL
	onPubcomp     on = 1 << PUBCOMP
	onSubscribe   on = 1 << SUBSCRIBE
	onSuback      on = 1 << SUBACK
	onUnsubscribe on = 1 << UNSUBSCRIBE
	onUnsuback    on = 1 << UNSUBACK
	onDisconnect  on = 1 << DISCONNECT
	onAuth        on = 1 << AUTH

	onAcks = onPuback | onPubrec | onPubrel | onPubcomp
	onAll  = onWill | onConnect | onConnack | onPublish | onAcks | onSubscribe | onSuback |
		onUnsubscribe | onUnsuback | onDisconnect | onAuth
)

// propSpec is one row of the property table: the name used in errors, the
// value type, where the property may appear, and which packets may repeat it.
// A value of 0 fails with zeroCode when zeroCode is set.
type propSpec struct {
	name     string
	kind     propKind
	on       on
	repeat   on
	zeroCode ReasonCode
}

// propSpecs is table 2-4 of the MQTT 5 specification, indexed by identifier.
var propSpecs = [...]propSpec{
	PropPayloadFormat:        {name: "payload format indicator", kind: kindByte, on: onPublish | onWill},
	PropMessageExpiry:        {name: "message expiry interval", kind: kindUint32, on: onPublish | onWill},
	PropContentType:          {name: "content type", kind: kindString, on: onPublish | onWill},
	PropResponseTopic:        {name: "response topic", kind: kindString, on: onPublish | onWill},
	PropCorrelationData:      {name: "correlation data", kind: kindBinary, on: onPublish | onWill},
	PropSubscriptionID:       {name: "subscription identifier", kind: kindVBI, on: onPublish | onSubscribe, repeat: onPublish, zeroCode: ProtocolError},
	PropSessionExpiry:        {name: "session expiry interval", kind: kindUint32, on: onConnect | onConnack | onDisconnect},
	PropAssignedClientID:     {name: "assigned client identifier", kind: kindString, on: onConnack},
	PropServerKeepAlive:      {name: "server keep alive", kind: kindUint16, on: onConnack},
	PropAuthMethod:           {name: "authentication method", kind: kindString, on: onConnect | onConnack | onAuth},
	PropAuthData:             {name: "authentication data", kind: kindBinary, on: onConnect | onConnack | onAuth},
	PropRequestProblemInfo:   {name: "request problem information", kind: kindByte, on: onConnect},
	PropWillDelay:            {name: "will delay interval", kind: kindUint32, on: onWill},
	PropRequestResponseInfo:  {name: "request response information", kind: kindByte, on: onConnect},
	PropResponseInfo:         {name: "response information", kind: kindString, on: onConnack},
	PropServerReference:      {name: "server reference", kind: kindString, on: onConnack | onDisconnect},
	PropReasonString:         {name: "reason string", kind: kindString, on: onConnack | onAcks | onSuback | onUnsuback | onDisconnect | onAuth},
	PropReceiveMaximum:       {name: "receive maximum", kind: kindUint16, on: onConnect | onConnack, zeroCode: ProtocolError},
	PropTopicAliasMaximum:    {name: "topic alias maximum", kind: kindUint16, on: onConnect | onConnack},
	PropTopicAlias:           {name: "topic alias", kind: kindUint16, on: onPublish, zeroCode: TopicAliasInvalid},
	PropMaximumQoS:           {name: "maximum QoS", kind: kindByte, on: onConnack},
	PropRetainAvailable:      {name: "retain available", kind: kindByte, on: onConnack},
	PropUserProperty:         {name: "user property", kind: kindPair, on: onAll, repeat: onAll},
	PropMaximumPacketSize:    {name: "maximum packet size", kind: kindUint32, on: onConnect | onConnack, zeroCode: ProtocolError},
	PropWildcardSubAvailable: {name: "wildcard subscription available", kind: kindByte, on: onConnack},
	PropSubIDAvailable:       {name: "subscription identifier available", kind: kindByte, on: onConnack},
	PropSharedSubAvailable:   {name: "shared subscription available", kind: kindByte, on: onConnack},
}

// allowed[t] is the set of properties packet type t (or Will) may carry,
// derived from propSpecs.
var allowed = func() (a [16]PropSet) {
	for id, s := range propSpecs {
		for t := range a {
			if s.on&(1<<t) != 0 {
				a[t].Add(PropID(id))
			}
		}
	}
	return a
}()

// Allowed returns the properties the specification allows on packet type t;
// pass Will for the will properties of a CONNECT. PINGREQ and PINGRESP carry
// none.
func Allowed(t Type) PropSet {
	if int(t) >= len(allowed) {
		return 0
	}
	return allowed[t]
}

// String returns the property's name as the specification spells it, in
// lower case ("topic alias").
func (id PropID) String() string {
	if int(id) < len(propSpecs) && propSpecs[id].kind != kindNone {
		return propSpecs[id].name
	}
	return "unknown property"
}
