package packets

// Publish is the PUBLISH packet [MQTT-3.3]. Topic and Payload alias the
// decoded buffer. PacketID is present only for QoS 1 and 2.
type Publish struct {
	Dup        bool
	QoS        byte
	Retain     bool
	Topic      []byte
	PacketID   uint16
	Properties Properties
	Payload    []byte
}
