package cluster

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAckFrameUnservedGroups(t *testing.T) {
	// An ack lists the shared groups its node could not serve last, and
	// only when there is one: a node of the previous version reads the
	// same seq and code and stops there.
	for _, tt := range []struct {
		name string
		f    frame
	}{
		{"none", frame{kind: frameAck, seq: 9}},
		{"some", frame{kind: frameAck, seq: 10, unserved: []uint64{0, 2, 300}}},
	} {
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
	plain := appendFrame(nil, &frame{kind: frameAck, seq: 10})
	with := appendFrame(nil, &frame{kind: frameAck, seq: 10, unserved: []uint64{1}})
	if !bytes.Equal(with[4:len(plain)], plain[4:]) {
		t.Errorf("an ack with unserved groups starts %x, want the plain ack %x", with[4:len(plain)], plain[4:])
	}
}
