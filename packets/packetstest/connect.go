package packetstest

import . "github.com/ternmq/broker/packets"

// connect builds a CONNECT with the given name, level, flags and the rest.
func connect(name string, level, flags byte, rest ...[]byte) []byte {
	return pkt(0x10, cat(str(name), b(level, flags), u16(30)), cat(rest...))
}

func connectCases() []Case {
	fullProps := props(p32(PropSessionExpiry, 3600), pstr(PropAuthMethod, "SCRAM"), pstr(PropAuthData, "x"),
		p8(PropRequestProblemInfo, 1), p8(PropRequestResponseInfo, 1), p16(PropReceiveMaximum, 100),
		p16(PropTopicAliasMaximum, 10), puser("a", "1"), puser("a", "2"), p32(PropMaximumPacketSize, 1<<20))
	willProps := props(p8(PropPayloadFormat, 1), p32(PropMessageExpiry, 60), pstr(PropContentType, "text/plain"),
		pstr(PropResponseTopic, "resp/t"), pstr(PropCorrelationData, "corr"), p32(PropWillDelay, 5), puser("w", "v"))
	return []Case{
		ok("CONNECT v5 minimal", "", v5, connect("MQTT", 5, 0x02, b(0), str("c1")),
			&Connect{ProtocolName: bs("MQTT"), Version: V5, CleanStart: true, KeepAlive: 30, ClientID: bs("c1")}),
		ok("CONNECT v5 every connect and will property", "", v5,
			connect("MQTT", 5, 0xEE, fullProps, str("client-1"), willProps, str("will/t"), str("bye"), str("user"), str("\x00\x01pw")),
			&Connect{ProtocolName: bs("MQTT"), Version: V5, CleanStart: true, KeepAlive: 30,
				Properties: Properties{
					Present: set(PropSessionExpiry, PropAuthMethod, PropAuthData, PropRequestProblemInfo,
						PropRequestResponseInfo, PropReceiveMaximum, PropTopicAliasMaximum, PropUserProperty, PropMaximumPacketSize),
					SessionExpiry: 3600, AuthMethod: bs("SCRAM"), AuthData: bs("x"), RequestProblemInfo: 1,
					RequestResponseInfo: 1, ReceiveMaximum: 100, TopicAliasMaximum: 10, User: user("a", "1", "a", "2"),
					MaximumPacketSize: 1 << 20},
				ClientID: bs("client-1"), WillFlag: true, WillQoS: 1, WillRetain: true,
				WillProperties: Properties{
					Present: set(PropPayloadFormat, PropMessageExpiry, PropContentType, PropResponseTopic,
						PropCorrelationData, PropWillDelay, PropUserProperty),
					PayloadFormat: 1, MessageExpiry: 60, ContentType: bs("text/plain"), ResponseTopic: bs("resp/t"),
					CorrelationData: bs("corr"), WillDelay: 5, User: user("w", "v")},
				WillTopic: bs("will/t"), WillPayload: bs("bye"), UsernameFlag: true, Username: bs("user"),
				PasswordFlag: true, Password: bs("\x00\x01pw")}),
		ok("CONNECT v5 password without user name is allowed", "[MQTT-3.1.2-22]", v5,
			connect("MQTT", 5, 0x40, b(0), str(""), str("pw")),
			&Connect{ProtocolName: bs("MQTT"), Version: V5, KeepAlive: 30, ClientID: bs(""), PasswordFlag: true, Password: bs("pw")}),
		ok("CONNECT 3.1.1 minimal", "", v4, connect("MQTT", 4, 0x02, str("c1")),
			&Connect{ProtocolName: bs("MQTT"), Version: V311, CleanStart: true, KeepAlive: 30, ClientID: bs("c1")}),
		ok("CONNECT 3.1.1 empty client identifier", "[MQTT-3.1.3-6]", v4, connect("MQTT", 4, 0x02, str("")),
			&Connect{ProtocolName: bs("MQTT"), Version: V311, CleanStart: true, KeepAlive: 30, ClientID: bs("")}),
		ok("CONNECT 3.1.1 will QoS 2, user name and password", "", v4,
			connect("MQTT", 4, 0xD4, str("c2"), str("w"), str("gone"), str("u"), str("p")),
			&Connect{ProtocolName: bs("MQTT"), Version: V311, KeepAlive: 30, ClientID: bs("c2"), WillFlag: true,
				WillQoS: 2, WillTopic: bs("w"), WillPayload: bs("gone"), UsernameFlag: true, Username: bs("u"),
				PasswordFlag: true, Password: bs("p")}),
		ok("CONNECT 3.1 client identifier over 23 bytes accepted", "[MQTT-3.1.3-5]", v3,
			connect("MQIsdp", 3, 0x02, str("a-client-identifier-of-30-byte")),
			&Connect{ProtocolName: bs("MQIsdp"), Version: V31, CleanStart: true, KeepAlive: 30, ClientID: bs("a-client-identifier-of-30-byte")}),
		// The level comes from the packet: a 3.1.1 CONNECT is read the same whatever version is passed.
		ok("CONNECT read with another version argument", "", v5, connect("MQTT", 4, 0x00, str("x")),
			&Connect{ProtocolName: bs("MQTT"), Version: V311, KeepAlive: 30, ClientID: bs("x")}),

		bad("CONNECT reserved connect flag", "[MQTT-3.1.2-3]", v4, mal, connect("MQTT", 4, 0x03, str("c"))),
		bad("CONNECT will QoS without will flag", "[MQTT-3.1.2-13]", v4, mal, connect("MQTT", 4, 0x08, str("c"))),
		bad("CONNECT will retain without will flag", "[MQTT-3.1.2-15]", v4, mal, connect("MQTT", 4, 0x20, str("c"))),
		bad("CONNECT v5 will QoS without will flag", "[MQTT-3.1.2-11]", v5, mal, connect("MQTT", 5, 0x10, b(0), str("c"))),
		bad("CONNECT will QoS 3", "[MQTT-3.1.2-14]", v4, mal, connect("MQTT", 4, 0x1C, str("c"), str("w"), str("m"))),
		bad("CONNECT 3.1.1 password without user name", "[MQTT-3.1.2-22]", v4, mal, connect("MQTT", 4, 0x40, str("c"), str("p"))),
		bad("CONNECT 3.1 password without user name", "[MQTT-3.1.2-22]", v3, mal, connect("MQIsdp", 3, 0x40, str("c"), str("p"))),
		bad("CONNECT unknown protocol level 6", "[MQTT-3.1.2-2]", v4, UnsupportedProtocolVersion, connect("MQTT", 6, 0, str("c"))),
		bad("CONNECT protocol level 0", "[MQTT-3.1.2-2]", v4, UnsupportedProtocolVersion, connect("MQTT", 0, 0, str("c"))),
		bad("CONNECT name MQTT with level 3", "[MQTT-3.1.2-1]", v3, pro, connect("MQTT", 3, 0, str("c"))),
		bad("CONNECT name MQIsdp with level 4", "[MQTT-3.1.2-1]", v4, pro, connect("MQIsdp", 4, 0, str("c"))),
		bad("CONNECT name mqtt in lower case", "[MQTT-3.1.2-1]", v4, pro, connect("mqtt", 4, 0, str("c"))),
		bad("CONNECT fixed header flags not 0", "[MQTT-2.1.3-1]", v4, mal, append([]byte{0x11}, connect("MQTT", 4, 0, str("c"))[1:]...)),
		bad("CONNECT truncated client identifier", "", v4, mal, pkt(0x10, str("MQTT"), b(4, 0), u16(30), b(0, 5, 'a'))),
		bad("CONNECT trailing bytes", "", v4, mal, connect("MQTT", 4, 0, str("c"), b(0))),
		bad("CONNECT client identifier with U+0000", "[MQTT-1.5.4-2]", v4, mal, connect("MQTT", 4, 0, str("a\x00b"))),
		bad("CONNECT client identifier not UTF-8", "[MQTT-1.5.4-1]", v4, mal, connect("MQTT", 4, 0, str("a\xffb"))),
		bad("CONNECT will topic with wildcard", "[MQTT-3.3.2-2]", v4, TopicNameInvalid, connect("MQTT", 4, 0x04, str("c"), str("a/#"), str("m"))),
		bad("CONNECT empty will topic", "[MQTT-4.7.3-1]", v4, pro, connect("MQTT", 4, 0x04, str("c"), str(""), str("m"))),
		bad("CONNECT user name not UTF-8", "[MQTT-3.1.3-11]", v4, mal, connect("MQTT", 4, 0x80, str("c"), str("\xc3"))),
		bad("CONNECT v5 will delay in connect properties", "", v5, mal, connect("MQTT", 5, 0, props(p32(PropWillDelay, 1)), str("c"))),
		bad("CONNECT v5 session expiry in will properties", "", v5, mal,
			connect("MQTT", 5, 0x04, b(0), str("c"), props(p32(PropSessionExpiry, 1)), str("w"), str("m"))),
		bad("CONNECT v5 receive maximum 0", "", v5, pro, connect("MQTT", 5, 0, props(p16(PropReceiveMaximum, 0)), str("c"))),
		bad("CONNECT v5 maximum packet size 0", "", v5, pro, connect("MQTT", 5, 0, props(p32(PropMaximumPacketSize, 0)), str("c"))),
		bad("CONNECT v5 request problem information 2", "", v5, pro, connect("MQTT", 5, 0, props(p8(PropRequestProblemInfo, 2)), str("c"))),
		bad("CONNECT v5 request response information 2", "", v5, pro, connect("MQTT", 5, 0, props(p8(PropRequestResponseInfo, 2)), str("c"))),
		bad("CONNECT v5 authentication data without method", "", v5, pro, connect("MQTT", 5, 0, props(pstr(PropAuthData, "d")), str("c"))),
		bad("CONNECT v5 session expiry twice", "", v5, pro,
			connect("MQTT", 5, 0, props(p32(PropSessionExpiry, 1), p32(PropSessionExpiry, 2)), str("c"))),
		bad("CONNECT v5 payload format 2 in will", "", v5, pro,
			connect("MQTT", 5, 0x04, b(0), str("c"), props(p8(PropPayloadFormat, 2)), str("w"), str("m"))),
		bad("CONNECT v5 will delay twice", "", v5, pro,
			connect("MQTT", 5, 0x04, b(0), str("c"), props(p32(PropWillDelay, 1), p32(PropWillDelay, 1)), str("w"), str("m"))),
	}
}

func connackCases() []Case {
	all := props(p32(PropSessionExpiry, 60), pstr(PropAssignedClientID, "auto-1"), p16(PropServerKeepAlive, 20),
		pstr(PropAuthMethod, "SCRAM"), pstr(PropAuthData, "srv"), pstr(PropResponseInfo, "resp/"),
		pstr(PropServerReference, "other:1883"), pstr(PropReasonString, "welcome"), p16(PropReceiveMaximum, 50),
		p16(PropTopicAliasMaximum, 8), p8(PropMaximumQoS, 1), p8(PropRetainAvailable, 0), puser("x", "y"),
		p32(PropMaximumPacketSize, 65536), p8(PropWildcardSubAvailable, 1), p8(PropSubIDAvailable, 0),
		p8(PropSharedSubAvailable, 1))
	return []Case{
		ok("CONNACK 3.1.1 accepted, session present", "", v4, pkt(0x20, b(1, 0)),
			&Connack{SessionPresent: true}),
		ok("CONNACK 3.1.1 not authorized", "", v4, pkt(0x20, b(0, 5)), &Connack{ReasonCode: NotAuthorized}),
		ok("CONNACK 3.1.1 unacceptable protocol version", "", v4, pkt(0x20, b(0, 1)), &Connack{ReasonCode: UnsupportedProtocolVersion}),
		ok("CONNACK 3.1 accepted", "", v3, pkt(0x20, b(0, 0)), &Connack{}),
		ok("CONNACK v5 success without properties", "", v5, pkt(0x20, b(0, 0), props()), &Connack{}),
		ok("CONNACK v5 every connack property", "", v5, pkt(0x20, b(1, 0), all),
			&Connack{SessionPresent: true, Properties: Properties{
				Present: set(PropSessionExpiry, PropAssignedClientID, PropServerKeepAlive, PropAuthMethod, PropAuthData,
					PropResponseInfo, PropServerReference, PropReasonString, PropReceiveMaximum, PropTopicAliasMaximum,
					PropMaximumQoS, PropRetainAvailable, PropUserProperty, PropMaximumPacketSize,
					PropWildcardSubAvailable, PropSubIDAvailable, PropSharedSubAvailable),
				SessionExpiry: 60, AssignedClientID: bs("auto-1"), ServerKeepAlive: 20, AuthMethod: bs("SCRAM"),
				AuthData: bs("srv"), ResponseInfo: bs("resp/"), ServerReference: bs("other:1883"),
				ReasonString: bs("welcome"), ReceiveMaximum: 50, TopicAliasMaximum: 8, MaximumQoS: 1,
				User: user("x", "y"), MaximumPacketSize: 65536, WildcardSubAvailable: 1, SharedSubAvailable: 1}}),
		ok("CONNACK v5 bad user name or password", "", v5, pkt(0x20, b(0, 0x86), props(pstr(PropReasonString, "no"))),
			&Connack{ReasonCode: BadUserNameOrPassword, Properties: Properties{Present: set(PropReasonString), ReasonString: bs("no")}}),

		bad("CONNACK reserved acknowledge flags", "[MQTT-3.2.2-1]", v4, mal, pkt(0x20, b(2, 0))),
		bad("CONNACK 3.1.1 reserved return code 6", "", v4, mal, pkt(0x20, b(0, 6))),
		bad("CONNACK session present with a failure code", "[MQTT-3.2.2-4]", v4, pro, pkt(0x20, b(1, 5))),
		bad("CONNACK 3.1.1 trailing byte", "", v4, mal, pkt(0x20, b(0, 0, 0))),
		bad("CONNACK truncated", "", v4, mal, pkt(0x20, b(0))),
		bad("CONNACK fixed header flags not 0", "[MQTT-2.1.3-1]", v4, mal, pkt(0x21, b(0, 0))),
		bad("CONNACK v5 reason code not for CONNACK", "", v5, mal, pkt(0x20, b(0, 0x10), props())),
		bad("CONNACK v5 maximum QoS 2", "", v5, pro, pkt(0x20, b(0, 0), props(p8(PropMaximumQoS, 2)))),
		bad("CONNACK v5 retain available 2", "", v5, pro, pkt(0x20, b(0, 0), props(p8(PropRetainAvailable, 2)))),
		bad("CONNACK v5 wildcard subscription available 2", "", v5, pro, pkt(0x20, b(0, 0), props(p8(PropWildcardSubAvailable, 2)))),
		bad("CONNACK v5 subscription identifier available 2", "", v5, pro, pkt(0x20, b(0, 0), props(p8(PropSubIDAvailable, 2)))),
		bad("CONNACK v5 shared subscription available 2", "", v5, pro, pkt(0x20, b(0, 0), props(p8(PropSharedSubAvailable, 2)))),
		bad("CONNACK v5 receive maximum 0", "", v5, pro, pkt(0x20, b(0, 0), props(p16(PropReceiveMaximum, 0)))),
		bad("CONNACK v5 topic alias on CONNACK", "", v5, mal, pkt(0x20, b(0, 0), props(p16(PropTopicAlias, 1)))),
		bad("CONNACK v5 assigned client identifier twice", "", v5, pro,
			pkt(0x20, b(0, 0), props(pstr(PropAssignedClientID, "a"), pstr(PropAssignedClientID, "b")))),
		bad("CONNACK v5 missing property length", "", v5, mal, pkt(0x20, b(0, 0))),
	}
}
