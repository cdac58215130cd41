package packets

// Disconnect is the DISCONNECT packet [MQTT-3.14]. ReasonCode and Properties
// exist only in v5.
type Disconnect struct {
	ReasonCode ReasonCode
	Properties Properties
}
