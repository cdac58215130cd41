package opcua

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
)

// chunk frames body as one chunk of a MSG message ("F" final, "C"
// intermediate, "A" abort) of request id.
func chunk(kind byte, reqID uint32, body []byte) []byte {
	b := []byte{'M', 'S', 'G', kind, 0, 0, 0, 0}
	b = binary.LittleEndian.AppendUint32(b, 1) // secure channel id
	b = binary.LittleEndian.AppendUint32(b, 1) // token id
	b = binary.LittleEndian.AppendUint32(b, reqID)
	b = binary.LittleEndian.AppendUint32(b, reqID)
	b = append(b, body...)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)))
	return b
}

// writeRequestBody encodes a Write of v as a service request body.
func writeRequestBody(t testing.TB, v *ua.Variant) []byte {
	t.Helper()
	tid, err := ua.NewFourByteExpandedNodeID(0, id.WriteRequest_Encoding_DefaultBinary).Encode()
	if err != nil {
		t.Fatal(err)
	}
	req, err := ua.Encode(&ua.WriteRequest{RequestHeader: &ua.RequestHeader{AuthenticationToken: ua.NewTwoByteNodeID(0), AdditionalHeader: ua.NewExtensionObject(nil)}, NodesToWrite: []*ua.WriteValue{{
		NodeID: ua.NewStringNodeID(1, "x"), AttributeID: ua.AttributeIDValue,
		Value: &ua.DataValue{EncodingMask: ua.DataValueValue, Value: v},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return append(tid, req...)
}

// evilBody is a Write whose Int32 array has length -2.
func evilBody(t testing.TB) []byte {
	b := writeRequestBody(t, ua.MustVariant([]int32{0x5a5a5a5a}))
	return bytes.Replace(b, []byte{0x86, 1, 0, 0, 0, 0x5a}, []byte{0x86, 0xfe, 0xff, 0xff, 0xff, 0x5a}, 1)
}

// replay reassembles the requests in what inspect let through, as
// gopcua does, and decodes them without a recover.
func replay(b []byte) {
	pending := map[uint32][]byte{}
	for len(b) >= 8 {
		size := int(binary.LittleEndian.Uint32(b[4:]))
		msg := b[:size]
		b = b[size:]
		id, body, ok := requestBody(msg)
		if !ok {
			continue
		}
		switch msg[3] {
		case 'C':
			pending[id] = append(pending[id], body...)
		case 'A':
			delete(pending, id)
		case 'F':
			whole := append(pending[id], body...)
			delete(pending, id)
			_, _, _ = ua.DecodeService(whole)
		}
	}
}

var testLimits = msgLimits{chunk: 0xffff, message: 1 << 20}

func TestInspectHoldsBackARequestThatPanicsTheDecoder(t *testing.T) {
	good := writeRequestBody(t, ua.MustVariant(21.5))
	evil := evilBody(t)
	for _, tc := range []struct {
		name    string
		stream  [][]byte
		forward int // chunks passed on
	}{
		{"a good request", [][]byte{chunk('F', 1, good)}, 1},
		{"a panicking request", [][]byte{chunk('F', 1, evil)}, 0},
		{"good, then panicking", [][]byte{chunk('F', 1, good), chunk('F', 2, evil), chunk('F', 3, good)}, 1},
		{"panicking in two chunks", [][]byte{chunk('C', 4, evil[:20]), chunk('F', 4, evil[20:])}, 1},
		{"aborted, then a good one with the same id", [][]byte{chunk('C', 5, evil[:20]), chunk('A', 5, nil), chunk('F', 5, good)}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := inspect(bytes.NewReader(bytes.Join(tc.stream, nil)), &out, testLimits)
			if want := bytes.Join(tc.stream[:tc.forward], nil); !bytes.Equal(out.Bytes(), want) {
				t.Errorf("passed on %d bytes, want %d (the first %d chunks); err %v", out.Len(), len(want), tc.forward, err)
			}
			if tc.forward < len(tc.stream) && !errors.Is(err, errRefused) {
				t.Errorf("err %v, want errRefused for the request held back", err)
			}
		})
	}
}

// FuzzInspect: whatever a client sends, inspect never panics, and nothing
// it passes on makes gopcua's decoder panic.
func FuzzInspect(f *testing.F) {
	good := writeRequestBody(f, ua.MustVariant([]int32{1, 2}))
	f.Add(chunk('F', 1, good))
	f.Add(chunk('F', 1, evilBody(f)))
	f.Add(append(chunk('C', 2, good[:10]), chunk('F', 2, good[10:])...))
	f.Fuzz(func(t *testing.T, stream []byte) {
		var out bytes.Buffer
		_ = inspect(bytes.NewReader(stream), &out, testLimits)
		replay(out.Bytes())
	})
}

// TestCheckRequest: requests a client sends pass, whatever their values;
// those gopcua would build out of proportion to their bytes, or panic
// on, do not.
func TestCheckRequest(t *testing.T) {
	write := func(v *ua.Variant) []byte { return writeRequestBody(t, v) }
	withCount := func(b []byte, old, new []byte) []byte {
		t.Helper()
		if !bytes.Contains(b, old) {
			t.Fatalf("%x not in the request", old)
		}
		return bytes.Replace(b, old, new, 1)
	}
	matrix, err := ua.NewVariant([][]int32{{1, 2, 3}, {4, 5, 6}})
	if err != nil {
		t.Fatal(err)
	}
	nested := ua.MustVariant(ua.MustVariant(ua.MustVariant("deep")))
	for _, tc := range []struct {
		name string
		body []byte
		ok   bool
	}{
		{"double", write(ua.MustVariant(21.5)), true},
		{"string", write(ua.MustVariant("text")), true},
		{"byte string", write(ua.MustVariant([]byte{1, 2, 3})), true},
		{"int32 array", write(ua.MustVariant([]int32{1, 2, 3})), true},
		{"string array", write(ua.MustVariant([]string{"a", "", "c"})), true},
		{"matrix", write(matrix), true},
		{"nested variants", write(nested), true},
		{"localized text", write(ua.MustVariant(&ua.LocalizedText{EncodingMask: ua.LocalizedTextText, Text: "t"})), true},
		{"node id", write(ua.MustVariant(ua.NewStringNodeID(2, "n"))), true},
		{"time", write(ua.MustVariant(time.Unix(1e9, 0))), true},
		{"data value in an extension object", write(ua.MustVariant(ua.NewExtensionObject(&ua.ReadValueID{NodeID: ua.NewNumericNodeID(0, 85), AttributeID: 13}))), true},
		{"array length -2", evilBody(t), false},
		// WriteRequest.NodesToWrite of 2^31-1 elements in 60 bytes.
		{"2^31-1 writes", withCount(write(ua.MustVariant(1.5)), []byte{1, 0, 0, 0, 3, 1, 0}, []byte{0xff, 0xff, 0xff, 0x7f, 3, 1, 0}), false},
		// An Int32 array of one, then 2^30 array dimensions (4 GiB).
		{"2^30 array dimensions", withCount(write(ua.MustVariant([]int32{0x5a5a5a5a})),
			[]byte{0x86, 1, 0, 0, 0, 0x5a, 0x5a, 0x5a, 0x5a}, []byte{0xc6, 1, 0, 0, 0, 0x5a, 0x5a, 0x5a, 0x5a, 0, 0, 0, 0x40}), false},
		// Dimensions 641 x 6700417 = 2^32+1, which gopcua's int32
		// product makes 1, the array's length: it then loops forever.
		{"dimensions overflowing to the length", withCount(write(ua.MustVariant([]int32{0x5a5a5a5a})),
			[]byte{0x86, 1, 0, 0, 0, 0x5a, 0x5a, 0x5a, 0x5a}, []byte{0xc6, 1, 0, 0, 0, 0x5a, 0x5a, 0x5a, 0x5a, 2, 0, 0, 0, 0x81, 2, 0, 0, 0x81, 0x3d, 0x66, 0}), false},
		{"truncated", write(ua.MustVariant(21.5))[:30], true},
		{"unknown service", []byte{1, 0, 0xff, 0xff, 1, 2, 3}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkRequest(tc.body); (err == nil) != tc.ok || (err != nil && !errors.Is(err, errRefused)) {
				t.Errorf("checkRequest: %v, want ok %v", err, tc.ok)
			}
		})
	}
}

// FuzzCheckRequest: a request body checkRequest lets through never makes
// gopcua's decoder panic, and costs it memory in proportion to its bytes
// (TotalAlloc counts the process's other goroutines too: 16 MiB of slack).
func FuzzCheckRequest(f *testing.F) {
	for _, v := range []any{21.5, "text", []int32{1, 2, 3}, []string{"a", "b"}, ua.NewExtensionObject(&ua.ReadValueID{NodeID: ua.NewNumericNodeID(0, 85)})} {
		f.Add(writeRequestBody(f, ua.MustVariant(v)))
	}
	f.Add(evilBody(f))
	f.Fuzz(func(t *testing.T, b []byte) {
		if checkRequest(b) != nil {
			return
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, _ = ua.DecodeService(b)
		runtime.ReadMemStats(&after)
		if n, limit := after.TotalAlloc-before.TotalAlloc, uint64(16<<20+1024*len(b)); n > limit {
			t.Errorf("decoding %d bytes allocated %d", len(b), n)
		}
	})
}

// BenchmarkInspectWrite: what the proxy adds to a Write request of one
// value: the walk and the second decode.
func BenchmarkInspectWrite(b *testing.B) {
	msg := chunk('F', 1, writeRequestBody(b, ua.MustVariant(21.5)))
	r := bytes.NewReader(nil)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(msg)
		_ = inspect(r, io.Discard, testLimits)
	}
}
