package packets

// Subscription is one topic filter of a SUBSCRIBE with its options
// [MQTT-3.8.3.1]. In 3.1.x only QoS is carried.
type Subscription struct {
	Filter            []byte
	QoS               byte
	NoLocal           bool
	RetainAsPublished bool
	RetainHandling    byte // 0 send retained, 1 only if new, 2 never
}

// Subscribe is the SUBSCRIBE packet [MQTT-3.8].
type Subscribe struct {
	PacketID      uint16
	Properties    Properties
	Subscriptions []Subscription
}
