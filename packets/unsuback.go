package packets

// Unsuback is the UNSUBACK packet [MQTT-3.11]. ReasonCodes and Properties
// exist only in v5; in 3.1.x the packet carries only the packet identifier.
type Unsuback struct {
	PacketID    uint16
	Properties  Properties
	ReasonCodes []ReasonCode
}
