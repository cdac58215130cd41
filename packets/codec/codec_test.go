package codec

import (
	"bytes"
	"testing"
)

// TestVBIEdges pins the boundaries of each encoded length [MQTT-1.5.5].
func TestVBIEdges(t *testing.T) {
	cases := []struct {
		v    uint32
		wire []byte
	}{
		{0, []byte{0x00}},
		{127, []byte{0x7F}},
		{128, []byte{0x80, 0x01}},
		{16383, []byte{0xFF, 0x7F}},
		{16384, []byte{0x80, 0x80, 0x01}},
		{2097151, []byte{0xFF, 0xFF, 0x7F}},
		{2097152, []byte{0x80, 0x80, 0x80, 0x01}},
		{268435455, []byte{0xFF, 0xFF, 0xFF, 0x7F}},
	}
	for _, c := range cases {
		if got := AppendVBI(nil, c.v); !bytes.Equal(got, c.wire) {
			t.Errorf("AppendVBI(%d) = % x, want % x", c.v, got, c.wire)
		}
		if n := SizeVBI(c.v); n != len(c.wire) {
			t.Errorf("SizeVBI(%d) = %d, want %d", c.v, n, len(c.wire))
		}
		v, n, err := ReadVBI(append(c.wire, 0xAA))
		if err != nil || v != c.v || n != len(c.wire) {
			t.Errorf("ReadVBI(% x) = %d, %d, %v; want %d, %d", c.wire, v, n, err, c.v, len(c.wire))
		}
		for i := range c.wire {
			if _, _, err := ReadVBI(c.wire[:i]); err != ErrShort {
				t.Errorf("ReadVBI(% x) error %v, want ErrShort", c.wire[:i], err)
			}
		}
	}
	if SizeVBI(268435456) != 5 {
		t.Errorf("SizeVBI(268435456) = %d, want 5 (not encodable)", SizeVBI(268435456))
	}
}

// TestVBIRejects: 268435456 would need five bytes; non-minimal forms are
// rejected [MQTT-1.5.5-1].
func TestVBIRejects(t *testing.T) {
	cases := []struct {
		name string
		wire []byte
		want error
	}{
		{"268435456 in five bytes", []byte{0x80, 0x80, 0x80, 0x80, 0x01}, ErrVBITooLong},
		{"continuation on the fourth byte", []byte{0xFF, 0xFF, 0xFF, 0xFF}, ErrVBITooLong},
		{"0 in two bytes", []byte{0x80, 0x00}, ErrVBINotMinimal},
		{"127 in two bytes", []byte{0xFF, 0x00}, ErrVBINotMinimal},
		{"128 in three bytes", []byte{0x80, 0x81, 0x00}, ErrVBINotMinimal},
		{"1 in four bytes", []byte{0x81, 0x80, 0x80, 0x00}, ErrVBINotMinimal},
		{"empty", nil, ErrShort},
	}
	for _, c := range cases {
		if _, _, err := ReadVBI(c.wire); err != c.want {
			t.Errorf("%s: ReadVBI(% x) error %v, want %v", c.name, c.wire, err, c.want)
		}
	}
}

func TestIntegers(t *testing.T) {
	b := AppendUint32(AppendUint16(nil, 0xBEEF), 0xDEADBEEF)
	if !bytes.Equal(b, []byte{0xBE, 0xEF, 0xDE, 0xAD, 0xBE, 0xEF}) {
		t.Fatalf("got % x", b)
	}
	v16, rest, err := ReadUint16(b)
	if v16 != 0xBEEF || err != nil {
		t.Fatalf("ReadUint16 = %x, %v", v16, err)
	}
	v32, rest, err := ReadUint32(rest)
	if v32 != 0xDEADBEEF || err != nil || len(rest) != 0 {
		t.Fatalf("ReadUint32 = %x, %v, rest % x", v32, err, rest)
	}
	if _, _, err := ReadUint16([]byte{1}); err != ErrShort {
		t.Errorf("ReadUint16 short: %v", err)
	}
	if _, _, err := ReadUint32([]byte{1, 2, 3}); err != ErrShort {
		t.Errorf("ReadUint32 short: %v", err)
	}
}

// TestStrings checks the UTF-8 rules [MQTT-1.5.4-1, -2, -3].
func TestStrings(t *testing.T) {
	cases := []struct {
		name string
		s    string
		want error
	}{
		{"ascii", "a/b", nil},
		{"empty", "", nil},
		{"multibyte", "température/°C/日本", nil},
		{"4-byte rune", "\U0001F600", nil},
		{"BOM kept [MQTT-1.5.4-3]", "\uFEFFx", nil},
		{"control character U+0001 accepted", "a\x01", nil},
		{"U+0000 [MQTT-1.5.4-2]", "a\x00b", ErrNullChar},
		{"surrogate U+D800 [MQTT-1.5.4-1]", "\xed\xa0\x80", ErrInvalidUTF8},
		{"surrogate U+DFFF [MQTT-1.5.4-1]", "\xed\xbf\xbf", ErrInvalidUTF8},
		{"overlong slash", "\xc0\xaf", ErrInvalidUTF8},
		{"truncated sequence", "\xe2\x82", ErrInvalidUTF8},
		{"beyond U+10FFFF", "\xf4\x90\x80\x80", ErrInvalidUTF8},
		{"stray continuation", "\x80", ErrInvalidUTF8},
	}
	for _, c := range cases {
		wire := AppendString(nil, []byte(c.s))
		s, rest, err := ReadString(append(wire, 'z'))
		if err != c.want {
			t.Errorf("%s: ReadString error %v, want %v", c.name, err, c.want)
			continue
		}
		if err == nil && (string(s) != c.s || string(rest) != "z") {
			t.Errorf("%s: ReadString = %q rest %q", c.name, s, rest)
		}
	}
	if _, _, err := ReadString([]byte{0, 3, 'a'}); err != ErrShort {
		t.Errorf("short string: %v", err)
	}
	if _, _, err := ReadBinary([]byte{0}); err != ErrShort {
		t.Errorf("short length: %v", err)
	}
	data, _, err := ReadBinary(AppendBinary(nil, []byte{0, 0xFF}))
	if err != nil || !bytes.Equal(data, []byte{0, 0xFF}) {
		t.Errorf("binary data with any byte: %x, %v", data, err)
	}
	if cap(data) != len(data) {
		t.Errorf("ReadBinary result has spare capacity %d: an append would overwrite the input", cap(data))
	}
	k, v, _, err := ReadStringPair(AppendStringPair(nil, []byte("k"), []byte("v")))
	if err != nil || string(k) != "k" || string(v) != "v" {
		t.Errorf("pair: %q %q %v", k, v, err)
	}
	if _, _, _, err := ReadStringPair(AppendString(nil, []byte("k"))); err != ErrShort {
		t.Errorf("pair without value: %v", err)
	}
	long := AppendBinary(nil, make([]byte, MaxString+10))
	if len(long) != 2+MaxString {
		t.Errorf("AppendBinary of an over-long value wrote %d bytes, want it truncated to %d", len(long), 2+MaxString)
	}
}

// TestZeroAlloc: the primitives never allocate.
func TestZeroAlloc(t *testing.T) {
	buf := make([]byte, 0, 64)
	in := AppendStringPair(AppendVBI(nil, 2097152), []byte("key"), []byte("välue"))
	n := testing.AllocsPerRun(100, func() {
		b := AppendVBI(buf[:0], 268435455)
		b = AppendString(b, []byte("topic"))
		_ = AppendUint32(AppendUint16(b, 1), 2)
		_, w, _ := ReadVBI(in)
		_, _, _, _ = ReadStringPair(in[w:])
	})
	if n != 0 {
		t.Fatalf("%v allocations", n)
	}
}

// FuzzVBI: whatever ReadVBI accepts re-encodes to the same bytes.
func FuzzVBI(f *testing.F) {
	for _, s := range [][]byte{{0}, {0x7F}, {0x80, 0x01}, {0xFF, 0xFF, 0xFF, 0x7F}, {0x80, 0x00}, {0xFF, 0xFF, 0xFF, 0xFF, 0x01}} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v, n, err := ReadVBI(b)
		if err != nil {
			return
		}
		if got := AppendVBI(nil, v); !bytes.Equal(got, b[:n]) || SizeVBI(v) != n {
			t.Fatalf("ReadVBI(% x) = %d in %d bytes, re-encoded % x", b, v, n, got)
		}
	})
}

// FuzzString: accepted strings are valid and round-trip.
func FuzzString(f *testing.F) {
	for _, s := range []string{"", "a/b", "\x00", "\xed\xa0\x80", "日本", "\uFEFF"} {
		f.Add(AppendString(nil, []byte(s)))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, rest, err := ReadString(b)
		if err != nil {
			return
		}
		if ValidateUTF8(s) != nil || bytes.IndexByte(s, 0) >= 0 {
			t.Fatalf("accepted invalid string %q", s)
		}
		if got := append(AppendString(nil, s), rest...); !bytes.Equal(got, b) {
			t.Fatalf("round trip % x -> % x", b, got)
		}
	})
}
