package cluster

import (
	"bytes"
	"testing"
)

// TestAckFrameUnservedGroups: an ack lists the shared groups its node
// could not serve last, and only when there is one, after the seq and
// code: a node of the previous version reads the same seq and code and
// stops there. (The round trip is in TestFrameRoundTrip.)
func TestAckFrameUnservedGroups(t *testing.T) {
	plain := appendFrame(nil, &frame{kind: frameAck, seq: 10})
	with := appendFrame(nil, &frame{kind: frameAck, seq: 10, unserved: []uint64{1}})
	if !bytes.Equal(with[4:len(plain)], plain[4:]) {
		t.Errorf("an ack with unserved groups starts %x, want the plain ack %x", with[4:len(plain)], plain[4:])
	}
}
