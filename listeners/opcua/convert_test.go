package opcua

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopcua/opcua/ua"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

func TestPayloadToVariantPerEncoding(t *testing.T) {
	for _, tc := range []struct {
		enc     Encoding
		payload string
		want    any // nil: a null Variant
		typ     ua.TypeID
		err     string // "" for success, "empty" for errEmpty
	}{
		{EncodingString, "hello", "hello", ua.TypeIDString, ""},
		{EncodingString, "", "", ua.TypeIDString, ""},
		{EncodingString, "\xff", nil, 0, "payload is not UTF-8"},
		{EncodingBytes, "\x00\x01", []byte{0, 1}, ua.TypeIDByteString, ""},
		{EncodingNumber, "21.5", 21.5, ua.TypeIDDouble, ""},
		{EncodingNumber, " 42\n", 42.0, ua.TypeIDDouble, ""},
		{EncodingNumber, "1e3", 1000.0, ua.TypeIDDouble, ""},
		{EncodingNumber, "", nil, 0, "empty"},
		{EncodingNumber, "abc", nil, 0, `payload is not a number: "abc"`},
		{EncodingJSON, "3.25", 3.25, ua.TypeIDDouble, ""},
		{EncodingJSON, "true", true, ua.TypeIDBoolean, ""},
		{EncodingJSON, "false", false, ua.TypeIDBoolean, ""},
		{EncodingJSON, `"on"`, "on", ua.TypeIDString, ""},
		{EncodingJSON, "null", nil, ua.TypeIDNull, ""},
		{EncodingJSON, ` {"a":1} `, `{"a":1}`, ua.TypeIDString, ""},
		{EncodingJSON, `[1,2]`, `[1,2]`, ua.TypeIDString, ""},
		{EncodingJSON, `{`, nil, 0, "payload is not JSON"},
		{EncodingJSON, `1e999`, nil, 0, `JSON number 1e999: strconv.ParseFloat: parsing "1e999": value out of range`},
		{EncodingJSON, "", nil, 0, "empty"},
	} {
		t.Run(fmt.Sprintf("%s %q", tc.enc, tc.payload), func(t *testing.T) {
			v, err := payloadVariant(tc.enc, []byte(tc.payload))
			switch {
			case tc.err == "empty":
				if !errors.Is(err, errEmpty) {
					t.Fatalf("err %v, want errEmpty", err)
				}
				return
			case tc.err != "":
				if err == nil || err.Error() != tc.err {
					t.Fatalf("err %v, want %s", err, tc.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			if v.Type() != tc.typ {
				t.Errorf("type %v, want %v", v.Type(), tc.typ)
			}
			if diff := cmp.Diff(tc.want, v.Value()); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWrittenVariantToPayloadPerEncoding(t *testing.T) {
	for _, tc := range []struct {
		enc   Encoding
		value any
		want  string
		text  bool
		ok    bool
	}{
		{EncodingString, "hi", "hi", true, true},
		{EncodingString, int32(7), "7", true, true},
		{EncodingString, false, "false", true, true},
		{EncodingString, []byte("utf8"), "utf8", true, true},
		{EncodingString, []byte{0xff}, "", false, false},
		{EncodingString, time.Unix(0, 0), "", false, false},
		{EncodingNumber, 2.5, "2.5", true, true},
		{EncodingNumber, uint16(9), "9", true, true},
		{EncodingNumber, " 1.50 ", "1.5", true, true},
		{EncodingNumber, "warm", "", false, false},
		{EncodingNumber, true, "", false, false},
		{EncodingJSON, 1.5, "1.5", true, true},
		{EncodingJSON, true, "true", true, true},
		{EncodingJSON, `{"a":1}`, `{"a":1}`, true, true}, // JSON text as is
		{EncodingJSON, "plain", `"plain"`, true, true},   // other text quoted
		{EncodingJSON, math.NaN(), `"NaN"`, true, true},
		{EncodingBytes, []byte{1, 2}, "\x01\x02", false, true},
		{EncodingBytes, "abc", "abc", false, true},
		{EncodingBytes, 1.0, "", false, false},
	} {
		t.Run(fmt.Sprintf("%s %T %v", tc.enc, tc.value, tc.value), func(t *testing.T) {
			p, text, err := variantPayload(tc.enc, ua.MustVariant(tc.value))
			if (err == nil) != tc.ok {
				t.Fatalf("err %v, want ok=%v", err, tc.ok)
			}
			if string(p) != tc.want || text != tc.text {
				t.Errorf("payload %q (utf8 %v), want %q (utf8 %v)", p, text, tc.want, tc.text)
			}
		})
	}
	if _, _, err := variantPayload(EncodingString, ua.MustVariant([]float64{1, 2})); err == nil {
		t.Error("an array was written")
	}
}

func TestClientModePayloads(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 600, time.UTC)
	for _, tc := range []struct {
		value    any
		raw      string
		typeName string
	}{
		{21.5, "21.5", "Double"},
		{float32(0.5), "0.5", "Float"},
		{int32(-3), "-3", "Int32"},
		{uint16(3), "3", "UInt16"},
		{true, "true", "Boolean"},
		{"press-7", "press-7", "String"},
		{[]byte{0, 1}, "\x00\x01", "ByteString"},
		{ts, "2026-01-02T03:04:05.0000006Z", "DateTime"},
		{[]float64{1, 2.5}, "[1,2.5]", "Double[]"},
		{ua.NewLocalizedText("x"), "x", "LocalizedText"},
		{ua.NewStringNodeID(2, "a"), `"ns=2;s=a"`, "NodeId"},
	} {
		v := ua.MustVariant(tc.value)
		if got := string(rawPayload(v)); got != tc.raw {
			t.Errorf("raw %T: %q, want %q", tc.value, got, tc.raw)
		}
		if got := typeName(v); got != tc.typeName {
			t.Errorf("type name %T: %q, want %q", tc.value, got, tc.typeName)
		}
	}
}

func TestCommandPayloadToVariant(t *testing.T) {
	for _, tc := range []struct {
		payload string
		typ     ua.TypeID
		want    any
		ok      bool
	}{
		{"42.5", ua.TypeIDDouble, 42.5, true},
		{`{"value": 42.5}`, ua.TypeIDDouble, 42.5, true},
		{`{"value": "42.5"}`, ua.TypeIDDouble, 42.5, true},
		{"1.5", ua.TypeIDFloat, float32(1.5), true},
		{"warm", ua.TypeIDDouble, nil, false},
		{"on", ua.TypeIDBoolean, true, true},
		{"0", ua.TypeIDBoolean, false, true},
		{"maybe", ua.TypeIDBoolean, nil, false},
		{"-7", ua.TypeIDInt32, int32(-7), true},
		{"7.0", ua.TypeIDInt16, int16(7), true},
		{"300", ua.TypeIDByte, nil, false},
		{"-1", ua.TypeIDUint32, nil, false},
		{"18446744073709551615", ua.TypeIDUint64, uint64(math.MaxUint64), true},
		{" text ", ua.TypeIDString, " text ", true},
		{`{"value": {"a": 1}}`, ua.TypeIDString, `{"a": 1}`, true},
		{"2026-01-02T03:04:05Z", ua.TypeIDDateTime, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), true},
		{"x", ua.TypeIDGUID, nil, false},
		{`{"val": 1}`, ua.TypeIDDouble, nil, false},
	} {
		v, err := commandVariant([]byte(tc.payload), tc.typ)
		if (err == nil) != tc.ok {
			t.Errorf("%q as %v: err %v, want ok=%v", tc.payload, tc.typ, err, tc.ok)
			continue
		}
		if err == nil {
			if diff := cmp.Diff(tc.want, v.Value()); diff != "" {
				t.Errorf("%q as %v (-want +got):\n%s", tc.payload, tc.typ, diff)
			}
		}
	}
}

func TestPublishErrorToStatusCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "Good"},
		{packets.NotAuthorized, "BadUserAccessDenied"},
		{packets.TopicNameInvalid, "BadNodeIdInvalid"},
		{packets.QoSNotSupported, "BadNotSupported"},
		{packets.RetainNotSupported, "BadNotSupported"},
		{packets.QuotaExceeded, "BadTooManyOperations"},
		{packets.PacketTooLarge, "BadEncodingLimitsExceeded"},
		{packets.ImplementationSpecificError, "BadInternalError"},
		{packets.ServerBusy, "BadResourceUnavailable"},
		{packets.UnspecifiedError, "BadUnexpectedError"},
		{broker.ErrClosed, "BadShutdown"},
		{errors.New("other"), "BadUnexpectedError"},
	} {
		if got := statusName(publishStatus(tc.err)); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.err, got, tc.want)
		}
	}
	if got := statusName(ua.StatusCode(0x12345678)); got != "0x12345678" {
		t.Errorf("unknown code: %s", got)
	}
	if got := statusName(ua.StatusBadNodeIDUnknown | 0x0400); got != "BadNodeIdUnknown" {
		t.Errorf("code with info bits: %s", got)
	}
}
