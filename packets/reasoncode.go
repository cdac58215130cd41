package packets

import "strconv"

// ReasonCode is an MQTT 5 reason code [MQTT-2.4]. It implements error, so a
// reason code travels as an error and is matched with errors.Is. Several codes
// share a value (0x00 is Success, Normal disconnection and Granted QoS 0);
// the constants name each meaning.
type ReasonCode byte

// MQTT 5 reason codes, table 2-6 of the specification.
const (
	// Success is CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK, AUTH success.
	Success ReasonCode = 0x00
	// NormalDisconnection closes the connection normally, the will is not sent.
	NormalDisconnection ReasonCode = 0x00
	// GrantedQoS0 is a SUBACK grant at QoS 0.
	GrantedQoS0 ReasonCode = 0x00
	// GrantedQoS1 is a SUBACK grant at QoS 1.
	GrantedQoS1 ReasonCode = 0x01
	// GrantedQoS2 is a SUBACK grant at QoS 2.
	GrantedQoS2 ReasonCode = 0x02
	// DisconnectWithWill asks the server to publish the will on DISCONNECT.
	DisconnectWithWill ReasonCode = 0x04
	// NoMatchingSubscribers: the message was accepted but nobody subscribes.
	NoMatchingSubscribers ReasonCode = 0x10
	// NoSubscriptionExisted: UNSUBSCRIBE named a filter that had no subscription.
	NoSubscriptionExisted ReasonCode = 0x11
	// ContinueAuthentication continues an enhanced authentication exchange.
	ContinueAuthentication ReasonCode = 0x18
	// ReAuthenticate starts a re-authentication.
	ReAuthenticate ReasonCode = 0x19
	// UnspecifiedError: the server does not wish to reveal the reason.
	UnspecifiedError ReasonCode = 0x80
	// MalformedPacket: the packet could not be parsed by the rules of the specification.
	MalformedPacket ReasonCode = 0x81
	// ProtocolError: the packet was well formed but broke a protocol rule.
	ProtocolError ReasonCode = 0x82
	// ImplementationSpecificError: valid but not accepted by this implementation.
	ImplementationSpecificError ReasonCode = 0x83
	// UnsupportedProtocolVersion: the server does not speak the requested level.
	UnsupportedProtocolVersion ReasonCode = 0x84
	// ClientIdentifierNotValid: the client identifier is valid UTF-8 but not allowed.
	ClientIdentifierNotValid ReasonCode = 0x85
	// BadUserNameOrPassword: credentials refused.
	BadUserNameOrPassword ReasonCode = 0x86
	// NotAuthorized: the client may not do this.
	NotAuthorized ReasonCode = 0x87
	// ServerUnavailable: the server cannot serve now.
	ServerUnavailable ReasonCode = 0x88
	// ServerBusy: try again later.
	ServerBusy ReasonCode = 0x89
	// Banned: the client is banned by administrative action.
	Banned ReasonCode = 0x8A
	// ServerShuttingDown: the server is shutting down.
	ServerShuttingDown ReasonCode = 0x8B
	// BadAuthenticationMethod: the authentication method is not supported.
	BadAuthenticationMethod ReasonCode = 0x8C
	// KeepAliveTimeout: nothing was received for 1.5 times the keep alive.
	KeepAliveTimeout ReasonCode = 0x8D
	// SessionTakenOver: another connection with the same client identifier took the session.
	SessionTakenOver ReasonCode = 0x8E
	// TopicFilterInvalid: the filter is well formed but not accepted.
	TopicFilterInvalid ReasonCode = 0x8F
	// TopicNameInvalid: the topic name is well formed but not accepted.
	TopicNameInvalid ReasonCode = 0x90
	// PacketIdentifierInUse: the packet identifier is already in use.
	PacketIdentifierInUse ReasonCode = 0x91
	// PacketIdentifierNotFound: the packet identifier is unknown.
	PacketIdentifierNotFound ReasonCode = 0x92
	// ReceiveMaximumExceeded: more QoS>0 publications in flight than Receive Maximum allows.
	ReceiveMaximumExceeded ReasonCode = 0x93
	// TopicAliasInvalid: the topic alias is 0 or above the maximum.
	TopicAliasInvalid ReasonCode = 0x94
	// PacketTooLarge: the packet exceeds the maximum packet size.
	PacketTooLarge ReasonCode = 0x95
	// MessageRateTooHigh: the publish rate is over the limit.
	MessageRateTooHigh ReasonCode = 0x96
	// QuotaExceeded: an implementation or administrative quota was exceeded.
	QuotaExceeded ReasonCode = 0x97
	// AdministrativeAction: the connection is closed by administrative action.
	AdministrativeAction ReasonCode = 0x98
	// PayloadFormatInvalid: the payload does not match the payload format indicator.
	PayloadFormatInvalid ReasonCode = 0x99
	// RetainNotSupported: the server does not support retained messages.
	RetainNotSupported ReasonCode = 0x9A
	// QoSNotSupported: the QoS is above the server's maximum QoS.
	QoSNotSupported ReasonCode = 0x9B
	// UseAnotherServer: the client should temporarily use another server.
	UseAnotherServer ReasonCode = 0x9C
	// ServerMoved: the client should permanently use another server.
	ServerMoved ReasonCode = 0x9D
	// SharedSubscriptionsNotSupported: the server does not support shared subscriptions.
	SharedSubscriptionsNotSupported ReasonCode = 0x9E
	// ConnectionRateExceeded: the connection rate limit was exceeded.
	ConnectionRateExceeded ReasonCode = 0x9F
	// MaximumConnectTime: the maximum connection time was reached.
	MaximumConnectTime ReasonCode = 0xA0
	// SubscriptionIdentifiersNotSupported: subscription identifiers are not supported.
	SubscriptionIdentifiersNotSupported ReasonCode = 0xA1
	// WildcardSubscriptionsNotSupported: wildcard subscriptions are not supported.
	WildcardSubscriptionsNotSupported ReasonCode = 0xA2
)

var reasonNames = map[ReasonCode]string{
	0x00: "success", 0x01: "granted QoS 1", 0x02: "granted QoS 2", 0x04: "disconnect with will message",
	0x10: "no matching subscribers", 0x11: "no subscription existed", 0x18: "continue authentication",
	0x19: "re-authenticate", 0x80: "unspecified error", 0x81: "malformed packet", 0x82: "protocol error",
	0x83: "implementation specific error", 0x84: "unsupported protocol version",
	0x85: "client identifier not valid", 0x86: "bad user name or password", 0x87: "not authorized",
	0x88: "server unavailable", 0x89: "server busy", 0x8A: "banned", 0x8B: "server shutting down",
	0x8C: "bad authentication method", 0x8D: "keep alive timeout", 0x8E: "session taken over",
	0x8F: "topic filter invalid", 0x90: "topic name invalid", 0x91: "packet identifier in use",
	0x92: "packet identifier not found", 0x93: "receive maximum exceeded", 0x94: "topic alias invalid",
	0x95: "packet too large", 0x96: "message rate too high", 0x97: "quota exceeded",
	0x98: "administrative action", 0x99: "payload format invalid", 0x9A: "retain not supported",
	0x9B: "QoS not supported", 0x9C: "use another server", 0x9D: "server moved",
	0x9E: "shared subscriptions not supported", 0x9F: "connection rate exceeded",
	0xA0: "maximum connect time", 0xA1: "subscription identifiers not supported",
	0xA2: "wildcard subscriptions not supported",
}

// Error returns the reason code's name, so a ReasonCode can be returned as an error.
func (r ReasonCode) Error() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return "reason code 0x" + strconv.FormatUint(uint64(r), 16)
}

// IsError reports whether r signals failure (0x80 and above) [MQTT-2.4].
func (r ReasonCode) IsError() bool { return r >= 0x80 }

// ConnackV3 maps a v5 CONNACK reason code to the MQTT 3.1/3.1.1 CONNACK
// return code [MQTT-3.2.2.3]: 0 accepted, 1 unacceptable protocol version,
// 2 identifier rejected, 3 server unavailable, 4 bad user name or password,
// 5 not authorized. Codes without a v3 equivalent become 3 (server unavailable),
// except authentication and authorization failures, which keep their meaning.
func ConnackV3(r ReasonCode) byte {
	switch r {
	case Success:
		return 0
	case UnsupportedProtocolVersion:
		return 1
	case ClientIdentifierNotValid:
		return 2
	case BadUserNameOrPassword, BadAuthenticationMethod:
		return 4
	case NotAuthorized, Banned:
		return 5
	}
	return 3
}

// ConnackV5 maps an MQTT 3.1/3.1.1 CONNACK return code to the v5 reason code.
// Return codes above 5 are reserved and map to UnspecifiedError.
func ConnackV5(code byte) ReasonCode {
	switch code {
	case 0:
		return Success
	case 1:
		return UnsupportedProtocolVersion
	case 2:
		return ClientIdentifierNotValid
	case 3:
		return ServerUnavailable
	case 4:
		return BadUserNameOrPassword
	case 5:
		return NotAuthorized
	}
	return UnspecifiedError
}
