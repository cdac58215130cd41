package packets

// Suback is the SUBACK packet [MQTT-3.9]: one reason code per filter, in
// order. In 3.1.x the codes are the return codes 0, 1, 2 and 0x80.
type Suback struct {
	PacketID    uint16
	Properties  Properties
	ReasonCodes []ReasonCode
}
