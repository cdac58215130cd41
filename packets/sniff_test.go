package packets_test

import (
	"errors"
	"testing"

	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/packets/packetstest"
)

// TestSniffCatalogue: every valid CONNECT of the catalogue is recognised,
// and each prefix too short to decide asks for more.
func TestSniffCatalogue(t *testing.T) {
	for _, c := range packetstest.ByType(packets.CONNECT) {
		if !c.Valid() {
			continue
		}
		want := c.Want.(*packets.Connect).Version
		// The level byte follows the fixed header and the protocol name.
		_, n, _ := packets.ReadFixedHeader(c.Raw)
		decisive := n + 2 + int(c.Raw[n+1]) + 1
		for i := 0; i < decisive; i++ {
			if _, err := packets.Sniff(c.Raw[:i]); err != packets.ErrNeedMore {
				t.Errorf("%s: Sniff of %d bytes: %v, want ErrNeedMore", c.Name, i, err)
			}
		}
		for _, end := range []int{decisive, len(c.Raw)} {
			if v, err := packets.Sniff(c.Raw[:end]); err != nil || v != want {
				t.Errorf("%s: Sniff of %d bytes = %v, %v; want %v", c.Name, end, v, err, want)
			}
		}
	}
}

func TestSniffRejects(t *testing.T) {
	connect := func(name string, level byte) []byte {
		b := []byte{0x10, byte(2 + len(name) + 6), 0, byte(len(name))}
		return append(append(b, name...), level, 0, 0, 0, 0, 0)
	}
	cases := []struct {
		name string
		in   []byte
		want packets.ReasonCode
	}{
		{"PUBLISH first [MQTT-3.1.0-1]", []byte{0x30, 0x00}, packets.ProtocolError},
		{"PINGREQ first", []byte{0xC0}, packets.ProtocolError},
		{"CONNECT flags not 0", []byte{0x12, 0x00}, packets.MalformedPacket},
		{"remaining length of five bytes", []byte{0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}, packets.MalformedPacket},
		{"name longer than the packet", []byte{0x10, 0x04, 0x00, 0x04, 'M', 'Q'}, packets.MalformedPacket},
		{"MQTT level 6", connect("MQTT", 6), packets.UnsupportedProtocolVersion},
		{"MQTT level 3", connect("MQTT", 3), packets.UnsupportedProtocolVersion},
		{"MQIsdp level 4", connect("MQIsdp", 4), packets.UnsupportedProtocolVersion},
		{"name of 5 bytes, decided before it arrives", []byte{0x10, 0x20, 0x00, 0x05}, packets.UnsupportedProtocolVersion},
		{"HTTP request", []byte("GET / HTTP/1.1\r\n"), packets.ProtocolError},
	}
	for _, c := range cases {
		v, err := packets.Sniff(c.in)
		var e *packets.Error
		if !errors.As(err, &e) || !errors.Is(err, c.want) || v != 0 {
			t.Errorf("%s: Sniff = %v, %v; want %v", c.name, v, err, c.want)
		}
	}
}
