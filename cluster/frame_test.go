package cluster

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ternmq/broker"
)

func TestFrameRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		f    frame
	}{
		{"hello", frame{kind: frameHello, node: "node-a"}},
		{"ack", frame{kind: frameAck, seq: 1 << 40, code: 0x80}},
		{"ack with unserved shared groups", frame{kind: frameAck, seq: 10, unserved: []uint64{0, 2, 300}}},
		{"sync", frame{kind: frameSync, seq: 7, rev: 123456789}},
		{"bare QoS 0 message", frame{kind: frameMsg, seq: 1, msg: &broker.Message{Topic: "a/b"}}},
		{"every field", frame{kind: frameMsg, seq: 2, wantAck: true, msg: &broker.Message{
			Topic: "t", Payload: []byte("p"), QoS: 2, Retain: true, PayloadUTF8: true,
			Expiry: 90 * time.Second, ContentType: "text/plain", ResponseTopic: "r",
			CorrelationData: []byte{1, 2}, ClientID: "pub",
			UserProperties: []broker.UserProperty{{Key: "k", Value: "v"}, {Key: "k", Value: "v2"}},
		}}},
		{"empty correlation data is not absent", frame{kind: frameMsg, seq: 3, msg: &broker.Message{Topic: "t", QoS: 1, CorrelationData: []byte{}}}},
		{"shared groups", frame{kind: frameMsg, seq: 4, msg: &broker.Message{Topic: "t", Payload: []byte("p"), SharedGroups: []string{"$share/g/t", "$share/h/#"}}}},
		{"no shared group is not absent", frame{kind: frameMsg, seq: 5, msg: &broker.Message{Topic: "t", SharedGroups: []string{}}}},
		{"shared groups only", frame{kind: frameMsg, seq: 6, msg: &broker.Message{Topic: "t", SharedGroups: []string{"$share/g/t"}, SharedGroupsOnly: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := appendFrame(nil, &tt.f)
			var got frame
			if _, err := readFrame(bufio.NewReader(bytes.NewReader(b)), nil, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.f, got, cmp.AllowUnexported(frame{})); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFrameMalformed(t *testing.T) {
	full := appendFrame(nil, &frame{kind: frameMsg, seq: 9, msg: &broker.Message{Topic: "t", Payload: []byte("payload")}})
	tests := []struct {
		name string
		b    []byte
	}{
		{"zero length", []byte{0, 0, 0, 0}},
		{"too long", []byte{0xFF, 0xFF, 0xFF, 0xFF}},
		{"unknown type", []byte{0, 0, 0, 1, 99}},
		{"truncated body", append([]byte{0, 0, 0, byte(len(full) - 6)}, full[4:len(full)-2]...)},
		{"link version", []byte{0, 0, 0, 3, frameHello, 2, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f frame
			_, err := readFrame(bufio.NewReader(bytes.NewReader(tt.b)), nil, &f)
			if !errors.Is(err, errFrame) {
				t.Fatalf("got %v, want errFrame", err)
			}
		})
	}
}
