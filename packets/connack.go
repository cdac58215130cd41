package packets

// Connack is the CONNACK packet [MQTT-3.2]. ReasonCode is always a v5 reason
// code; for 3.1.x it is mapped to and from the return code with ConnackV3 and
// ConnackV5.
type Connack struct {
	SessionPresent bool
	ReasonCode     ReasonCode
	Properties     Properties
}
