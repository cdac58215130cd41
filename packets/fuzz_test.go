package packets_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/ternmq/broker/packets"
	"github.com/ternmq/broker/packets/packetstest"
)

// Fuzz targets. Each is seeded with the catalogue; run one at a time:
//
//	go test -run=NONE -fuzz=FuzzDecode -fuzztime=90s -fuzzminimizetime=3s ./packets
//
// (the default minimisation budget of 60 s per new input dominates short
// runs).

var versions = [...]packets.Version{packets.V31, packets.V311, packets.V5}

// seedRaw adds every catalogue packet with its version index.
func seedRaw(f *testing.F, only packets.Type) {
	for _, c := range packetstest.Cases() {
		if only != 0 && packets.Type(c.Raw[0]>>4) != only {
			continue
		}
		f.Add(c.Raw, byte(c.Version-packets.V31))
	}
}

// stable checks the decode→encode→decode property: a packet that decodes
// encodes without error, and its encoding decodes to an equal packet.
func stable(t *testing.T, p packets.Packet, v packets.Version) {
	t.Helper()
	enc, err := p.Append(nil, v)
	if err != nil {
		t.Fatalf("decoded %#v but Append fails: %v", p, err)
	}
	again, err := packets.Unmarshal(enc, v)
	if err != nil {
		t.Fatalf("re-decoding % x: %v", enc, err)
	}
	if d := cmp.Diff(p, again, equate); d != "" {
		t.Fatalf("decode→encode→decode differs (-first +second):\n%s", d)
	}
}

// checkErr: every rejection is a *packets.Error with a field and a reason.
func checkErr(t *testing.T, err error) {
	t.Helper()
	var e *packets.Error
	if !errors.As(err, &e) || e.Field == "" || e.Reason == "" || e.Code < 0x80 {
		t.Fatalf("rejection is not a complete *packets.Error: %#v", err)
	}
}

func fuzzRaw(t *testing.T, raw []byte, vi byte) {
	v := versions[int(vi)%len(versions)]
	p, err := packets.Unmarshal(raw, v)
	if err != nil {
		checkErr(t, err)
		return
	}
	stable(t, p, v)
}

// FuzzDecode covers every packet type through Unmarshal.
func FuzzDecode(f *testing.F) {
	seedRaw(f, 0)
	f.Fuzz(fuzzRaw)
}

// FuzzConnect covers CONNECT.
func FuzzConnect(f *testing.F) {
	seedRaw(f, packets.CONNECT)
	f.Fuzz(func(t *testing.T, body []byte, vi byte) {
		fuzzRaw(t, withHeader(0x10, body), vi)
	})
}

// FuzzPublish covers PUBLISH; the flags come from the input.
func FuzzPublish(f *testing.F) {
	seedRaw(f, packets.PUBLISH)
	f.Fuzz(func(t *testing.T, raw []byte, vi byte) {
		if len(raw) == 0 {
			return
		}
		fuzzRaw(t, withHeader(0x30|raw[0]&0x0F, raw[1:]), vi)
	})
}

// FuzzSubscribe covers SUBSCRIBE.
func FuzzSubscribe(f *testing.F) {
	seedRaw(f, packets.SUBSCRIBE)
	f.Fuzz(func(t *testing.T, body []byte, vi byte) {
		fuzzRaw(t, withHeader(0x82, body), vi)
	})
}

// withHeader puts a fixed header in front of a body; seeds that are whole
// packets get their own header replaced.
func withHeader(first byte, body []byte) []byte {
	if fh, n, err := packets.ReadFixedHeader(body); err == nil && fh.Remaining == len(body)-n && body[0]>>4 == first>>4 {
		body = body[n:]
	}
	out, err := packets.AppendFixedHeader(nil, packets.FixedHeader{Type: packets.Type(first >> 4), Flags: first & 0x0F, Remaining: len(body)})
	if err != nil {
		return nil
	}
	return append(out, body...)
}

// FuzzProperties decodes a property section for any packet type (or the
// will) and checks that it re-encodes to what decodes the same.
func FuzzProperties(f *testing.F) {
	for _, c := range packetstest.Cases() {
		if c.Version != packets.V5 {
			continue
		}
		// The property section sits at different offsets; seed the whole
		// body from every offset up to a few bytes.
		_, n, err := packets.ReadFixedHeader(c.Raw)
		if err != nil {
			continue
		}
		for off := n; off < len(c.Raw) && off < n+12; off++ {
			f.Add(c.Raw[off:], c.Raw[0]>>4)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, tb byte) {
		pt := packets.Type(tb % 16)
		var p packets.Properties
		rest, err := p.Decode(b, pt)
		if err != nil {
			checkErr(t, err)
			return
		}
		if len(rest) > len(b) {
			t.Fatalf("rest longer than input")
		}
		enc, err := p.Append(nil, pt)
		if err != nil {
			t.Fatalf("decoded properties do not encode: %v", err)
		}
		if len(enc) != len(b)-len(rest) || p.Len(pt) != len(enc)-sizeOfVBIPrefix(enc) {
			// Every accepted form is minimal, so the encoding (whose
			// identifier order may differ) has the input's length.
			t.Fatalf("encoded %d bytes from a %d byte section", len(enc), len(b)-len(rest))
		}
		var q packets.Properties
		if _, err := q.Decode(enc, pt); err != nil {
			t.Fatalf("re-decoding % x: %v", enc, err)
		}
		if d := cmp.Diff(p, q, equate); d != "" {
			t.Fatalf("properties differ (-first +second):\n%s", d)
		}
	})
}

// sizeOfVBIPrefix returns the length of the variable byte integer at the
// start of b.
func sizeOfVBIPrefix(b []byte) int {
	for i, c := range b {
		if c < 0x80 {
			return i + 1
		}
	}
	return len(b)
}

// FuzzReader feeds arbitrary bytes to a Reader, in one piece or one byte
// at a time, and decodes what it returns.
func FuzzReader(f *testing.F) {
	var all []byte
	for _, c := range packetstest.Cases() {
		f.Add(c.Raw, byte(c.Version-packets.V31))
		if c.Valid() && c.Version == packets.V5 {
			all = append(all, c.Raw...)
		}
	}
	f.Add(all, byte(2))
	f.Add(all, byte(5))
	const limit = 1 << 16
	f.Fuzz(func(t *testing.T, stream []byte, mode byte) {
		v := versions[int(mode)%len(versions)]
		var src io.Reader = bytes.NewReader(stream)
		if mode&4 != 0 {
			src = iotest.OneByteReader(src)
		}
		r := packets.NewReader(src, limit)
		consumed := 0
		for {
			fh, body, err := r.Next()
			if err != nil {
				if err != io.EOF && err != io.ErrUnexpectedEOF {
					checkErr(t, err)
				}
				break
			}
			if len(body) != fh.Remaining || fh.Remaining+2 > limit {
				t.Fatalf("body of %d bytes for remaining length %d", len(body), fh.Remaining)
			}
			consumed += len(body) + 2
			if consumed > len(stream) {
				t.Fatalf("returned more bytes than the stream holds")
			}
			if p, err := packets.Decode(fh, body, v); err == nil {
				stable(t, p, v)
			}
			if mode&8 != 0 {
				r.Release()
			}
		}
		if _, n := packets.ReaderState(r); n > 2*limit {
			t.Fatalf("buffer of %d bytes with a %d byte limit", n, limit)
		}
	})
}
