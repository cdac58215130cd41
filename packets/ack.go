package packets

// Ack is PUBACK, PUBREC, PUBREL or PUBCOMP, as Kind says [MQTT-3.4 to 3.7]:
// the four share one layout (packet identifier, then in v5 a reason code and
// properties, both omitted on the wire when Success with no properties).
type Ack struct {
	Kind       Type // PUBACK, PUBREC, PUBREL or PUBCOMP
	PacketID   uint16
	ReasonCode ReasonCode
	Properties Properties
}
