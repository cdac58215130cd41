package cluster

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ternmq/broker"
)

// FuzzReadFrame: any bytes a peer sends on a node link decode to a frame
// or errFrame (or the reader's end), never a panic or an allocation out of
// proportion to them; and a frame that decodes encodes to bytes that decode
// to the same frame.
func FuzzReadFrame(f *testing.F) {
	for _, fr := range []frame{
		{kind: frameHello, node: "node-a"},
		{kind: frameAck, seq: 1 << 40, code: 0x80, unserved: []uint64{0, 2}},
		{kind: frameSync, seq: 7, rev: 123456789},
		{kind: frameMsg, seq: 2, wantAck: true, msg: &broker.Message{
			Topic: "t", Payload: []byte("p"), QoS: 2, Retain: true, PayloadUTF8: true,
			Expiry: 90 * time.Second, ContentType: "text/plain", ResponseTopic: "r",
			CorrelationData: []byte{}, ClientID: "pub",
			UserProperties: []broker.UserProperty{{Key: "k", Value: "v"}},
			SharedGroups:   []string{"$share/g/t"}, SharedGroupsOnly: true,
		}},
	} {
		f.Add(appendFrame(nil, &fr))
	}
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{0, 0, 0, 11, frameMsg, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) // expiry overflows
	f.Fuzz(func(t *testing.T, b []byte) {
		var got frame
		_, err := readFrame(bufio.NewReader(bytes.NewReader(b)), nil, &got)
		if err != nil {
			return // errFrame, or the input ended (io.EOF, io.ErrUnexpectedEOF)
		}
		again := appendFrame(nil, &got)
		var back frame
		if _, err := readFrame(bufio.NewReader(bytes.NewReader(again)), nil, &back); err != nil {
			t.Fatalf("re-encoded frame does not decode: %v", err)
		}
		if diff := cmp.Diff(got, back, cmp.AllowUnexported(frame{})); diff != "" {
			t.Fatalf("decode(encode(frame)) differs (-first +second):\n%s", diff)
		}
	})
}

// TestFrameExpiryOverflow: a message expiry too large for a Duration is a
// malformed frame, not a negative expiry.
func TestFrameExpiryOverflow(t *testing.T) {
	// seq 1, flags 0, expiry 2^64-1 ms, topic "t", then empty fields.
	b := []byte{0, 0, 0, 0, frameMsg, 1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 't', 0, 0, 0, 0, 0, 0}
	b[3] = byte(len(b) - 4)
	var f frame
	if _, err := readFrame(bufio.NewReader(bytes.NewReader(b)), nil, &f); !errors.Is(err, errFrame) {
		t.Fatalf("got %v (expiry %v), want errFrame", err, f.msg.Expiry)
	}
}

// TestFrameLengthAloneAllocatesLittle: a peer that declares the largest
// frame and sends ten bytes of it costs the reader memory in proportion to
// the ten bytes, not to the 300 MiB it declared. TotalAlloc counts the
// process's other goroutines too, hence a bound of 16 MiB, not 64 KiB.
func TestFrameLengthAloneAllocatesLittle(t *testing.T) {
	b := binary.BigEndian.AppendUint32(nil, maxFrame)
	b = append(b, make([]byte, 10)...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var f frame
	_, err := readFrame(bufio.NewReader(bytes.NewReader(b)), nil, &f)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("got %v, want io.ErrUnexpectedEOF", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
		t.Errorf("reading the header and 10 bytes allocated %d bytes", n)
	}
}
