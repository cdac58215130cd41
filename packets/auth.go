package packets

// Auth is the AUTH packet of MQTT 5 [MQTT-3.15].
type Auth struct {
	ReasonCode ReasonCode
	Properties Properties
}
