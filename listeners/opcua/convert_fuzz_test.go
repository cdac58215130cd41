package opcua

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/gopcua/opcua/ua"
)

// FuzzPayloadVariant: any MQTT payload (from any MQTT client) converts to
// a Variant per each encoding or fails with an error, never a panic; and a
// payload that converts comes back through variantPayload (the OPC UA
// client's write) as the same bytes for string and bytes, the same number
// for number.
func FuzzPayloadVariant(f *testing.F) {
	for _, s := range []string{"", "21.5", " -1e308 ", "1e999", "NaN", `{"a":[1,2]}`, `"text"`, "null", "true", "\xff\xfe", "0x10"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := []byte(s)
		for _, enc := range Encodings {
			v, err := payloadVariant(enc, p)
			if err != nil {
				continue
			}
			back, _, err := variantPayload(enc, v)
			if err != nil {
				t.Fatalf("%s: %q converted to a %s that does not convert back: %v", enc, p, typeName(v), err)
			}
			switch enc {
			case EncodingString, EncodingBytes:
				if !bytes.Equal(back, p) {
					t.Errorf("%s: %q came back as %q", enc, p, back)
				}
			case EncodingNumber:
				a, _ := strconv.ParseFloat(string(bytes.TrimSpace(p)), 64)
				b, err := strconv.ParseFloat(string(back), 64)
				if err != nil || (a != b && a == a) { // NaN != NaN
					t.Errorf("number %q came back as %q", p, back)
				}
			}
		}
	})
}

// FuzzVariantPayload: any Variant an OPC UA client can send (decoded from
// its binary encoding by gopcua, as the server does; inputs gopcua's
// decoder panics on or would allocate gigabytes for never reach it, see
// inspect.go) converts to an MQTT
// payload per each encoding, or to the client mode's raw payload, or fails
// with an error; never a panic.
func FuzzVariantPayload(f *testing.F) {
	for _, v := range []any{21.5, "text", []byte{1, 2}, true, int32(-7), []float64{1, 2}, uint64(1 << 60)} {
		if b, err := ua.MustVariant(v).Encode(); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte{0})
	f.Fuzz(func(t *testing.T, b []byte) {
		w := walker{b: b}
		if err := w.variant(0); err != nil && !errors.Is(err, errShort) {
			return // the proxy refuses it (inspect.go)
		}
		var v ua.Variant
		if decoded(func() error { _, err := v.Decode(b); return err }) != nil {
			return
		}
		for _, enc := range Encodings {
			_, _, _ = variantPayload(enc, &v)
		}
		_ = rawPayload(&v)
		_ = typeName(&v)
	})
}

// decoded runs decode, turning a panic of gopcua's decoder into an error.
func decoded(decode func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("decoder panicked: %v", p)
		}
	}()
	return decode()
}
