package packets_test

import (
	"bytes"
	"testing"

	paho3 "github.com/eclipse/paho.mqtt.golang/packets"
	"github.com/google/go-cmp/cmp"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/packets/packetstest"
)

// Cross-checks against Eclipse paho.mqtt.golang's MQTT 3.1.1 codec.

func v311Packets() []packetstest.Case {
	var out []packetstest.Case
	for _, c := range packetstest.Cases() {
		if c.Valid() && c.Version == packets.V311 {
			out = append(out, c)
		}
	}
	return out
}

// TestPahoV311DecodesTern: Tern encodes, paho.mqtt.golang decodes.
func TestPahoV311DecodesTern(t *testing.T) {
	for _, c := range v311Packets() {
		t.Run(c.Name, func(t *testing.T) {
			enc, err := c.Want.Append(nil, packets.V311)
			if err != nil {
				t.Fatal(err)
			}
			cp, err := paho3.ReadPacket(bytes.NewReader(enc))
			if err != nil {
				t.Fatalf("paho3.ReadPacket(% x): %v", enc, err)
			}
			if d := cmp.Diff(c.Want, fromPaho3(cp), equate); d != "" {
				t.Fatalf("paho read (-tern +paho):\n%s", d)
			}
		})
	}
}

// TestTernDecodesPahoV311: paho.mqtt.golang encodes, Tern decodes.
func TestTernDecodesPahoV311(t *testing.T) {
	for _, c := range v311Packets() {
		t.Run(c.Name, func(t *testing.T) {
			pp := toPaho3(c.Want)
			var buf bytes.Buffer
			if err := pp.Write(&buf); err != nil {
				t.Fatal(err)
			}
			got, err := packets.Unmarshal(buf.Bytes(), packets.V311)
			if err != nil {
				t.Fatalf("Unmarshal(% x): %v", buf.Bytes(), err)
			}
			if d := cmp.Diff(fromPaho3(pp), got, equate); d != "" {
				t.Fatalf("Tern read (-paho +tern):\n%s", d)
			}
		})
	}
}

// toPaho3 converts a Tern packet into paho.mqtt.golang's representation.
func toPaho3(p packets.Packet) paho3.ControlPacket {
	cp := paho3.NewControlPacket(byte(p.Type()))
	switch p := p.(type) {
	case *packets.Connect:
		c := cp.(*paho3.ConnectPacket)
		c.ProtocolName, c.ProtocolVersion = string(p.ProtocolName), byte(p.Version)
		c.CleanSession, c.Keepalive, c.ClientIdentifier = p.CleanStart, p.KeepAlive, string(p.ClientID)
		c.WillFlag, c.WillQos, c.WillRetain = p.WillFlag, p.WillQoS, p.WillRetain
		c.WillTopic, c.WillMessage = string(p.WillTopic), p.WillPayload
		c.UsernameFlag, c.Username = p.UsernameFlag, string(p.Username)
		c.PasswordFlag, c.Password = p.PasswordFlag, p.Password
	case *packets.Connack:
		c := cp.(*paho3.ConnackPacket)
		c.SessionPresent, c.ReturnCode = p.SessionPresent, packets.ConnackV3(p.ReasonCode)
	case *packets.Publish:
		c := cp.(*paho3.PublishPacket)
		c.Dup, c.Qos, c.Retain = p.Dup, p.QoS, p.Retain
		c.TopicName, c.MessageID, c.Payload = string(p.Topic), p.PacketID, p.Payload
	case *packets.Ack:
		switch c := cp.(type) {
		case *paho3.PubackPacket:
			c.MessageID = p.PacketID
		case *paho3.PubrecPacket:
			c.MessageID = p.PacketID
		case *paho3.PubrelPacket:
			c.MessageID = p.PacketID
		case *paho3.PubcompPacket:
			c.MessageID = p.PacketID
		}
	case *packets.Subscribe:
		c := cp.(*paho3.SubscribePacket)
		c.MessageID = p.PacketID
		for _, s := range p.Subscriptions {
			c.Topics = append(c.Topics, string(s.Filter))
			c.Qoss = append(c.Qoss, s.QoS)
		}
	case *packets.Suback:
		c := cp.(*paho3.SubackPacket)
		c.MessageID, c.ReturnCodes = p.PacketID, codesToBytes(p.ReasonCodes)
	case *packets.Unsubscribe:
		c := cp.(*paho3.UnsubscribePacket)
		c.MessageID = p.PacketID
		for _, f := range p.Filters {
			c.Topics = append(c.Topics, string(f))
		}
	case *packets.Unsuback:
		cp.(*paho3.UnsubackPacket).MessageID = p.PacketID
	}
	return cp
}

// fromPaho3 converts paho.mqtt.golang's representation into a Tern packet.
func fromPaho3(cp paho3.ControlPacket) packets.Packet {
	switch c := cp.(type) {
	case *paho3.ConnectPacket:
		p := &packets.Connect{ProtocolName: []byte(c.ProtocolName), Version: packets.Version(c.ProtocolVersion),
			CleanStart: c.CleanSession, KeepAlive: c.Keepalive, ClientID: []byte(c.ClientIdentifier),
			WillFlag: c.WillFlag, WillQoS: c.WillQos, WillRetain: c.WillRetain,
			UsernameFlag: c.UsernameFlag, PasswordFlag: c.PasswordFlag, Password: c.Password}
		if c.WillFlag {
			p.WillTopic, p.WillPayload = []byte(c.WillTopic), c.WillMessage
		}
		if c.UsernameFlag {
			p.Username = []byte(c.Username)
		}
		return p
	case *paho3.ConnackPacket:
		return &packets.Connack{SessionPresent: c.SessionPresent, ReasonCode: packets.ConnackV5(c.ReturnCode)}
	case *paho3.PublishPacket:
		return &packets.Publish{Dup: c.Dup, QoS: c.Qos, Retain: c.Retain, Topic: []byte(c.TopicName),
			PacketID: c.MessageID, Payload: c.Payload}
	case *paho3.PubackPacket:
		return &packets.Ack{Kind: packets.PUBACK, PacketID: c.MessageID}
	case *paho3.PubrecPacket:
		return &packets.Ack{Kind: packets.PUBREC, PacketID: c.MessageID}
	case *paho3.PubrelPacket:
		return &packets.Ack{Kind: packets.PUBREL, PacketID: c.MessageID}
	case *paho3.PubcompPacket:
		return &packets.Ack{Kind: packets.PUBCOMP, PacketID: c.MessageID}
	case *paho3.SubscribePacket:
		p := &packets.Subscribe{PacketID: c.MessageID}
		for i, f := range c.Topics {
			p.Subscriptions = append(p.Subscriptions, packets.Subscription{Filter: []byte(f), QoS: c.Qoss[i]})
		}
		return p
	case *paho3.SubackPacket:
		return &packets.Suback{PacketID: c.MessageID, ReasonCodes: bytesToCodes(c.ReturnCodes)}
	case *paho3.UnsubscribePacket:
		p := &packets.Unsubscribe{PacketID: c.MessageID}
		for _, f := range c.Topics {
			p.Filters = append(p.Filters, []byte(f))
		}
		return p
	case *paho3.UnsubackPacket:
		return &packets.Unsuback{PacketID: c.MessageID}
	case *paho3.PingreqPacket:
		return &packets.Pingreq{}
	case *paho3.PingrespPacket:
		return &packets.Pingresp{}
	case *paho3.DisconnectPacket:
		return &packets.Disconnect{}
	}
	return nil
}
