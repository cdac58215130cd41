package coap

import (
	"fmt"
	"testing"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// TestContentFormatRoundTrip: every Content-Format of the table maps to
// its MQTT Content Type and back.
func TestContentFormatRoundTrip(t *testing.T) {
	for _, e := range contentFormats {
		ct, ok := contentType(e.cf)
		if !ok || ct != e.ct {
			t.Errorf("contentType(%d) = %q %v, want %q", e.cf, ct, ok, e.ct)
		}
		if cf, ok := contentFormat(ct); !ok || cf != e.cf {
			t.Errorf("contentFormat(%q) = %d %v, want %d", ct, cf, ok, e.cf)
		}
	}
}

// TestContentFormat: the IANA numbers the issue names, and the spellings
// of a Content Type that map to them.
func TestContentFormat(t *testing.T) {
	tests := []struct {
		ct   string
		cf   message.MediaType
		want bool
	}{
		{"text/plain;charset=utf-8", 0, true},
		{"text/plain; charset=UTF-8", 0, true},
		{"text/plain", 0, true},
		{"application/json", 50, true},
		{"Application/JSON", 50, true},
		{"application/octet-stream", 42, true},
		{"application/cbor", 60, true},
		{"application/senml+json", 110, true},
		{"text/html", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		cf, ok := contentFormat(tt.ct)
		if ok != tt.want || (ok && cf != tt.cf) {
			t.Errorf("contentFormat(%q) = %d %v, want %d %v", tt.ct, cf, ok, tt.cf, tt.want)
		}
	}
	if _, ok := contentType(65000); ok {
		t.Error("an unregistered Content-Format maps to a Content Type")
	}
}

// TestErrorResponse: the broker's refusals map to CoAP codes, with the
// reason code in the diagnostic.
func TestErrorResponse(t *testing.T) {
	tests := []struct {
		err  error
		code codes.Code
	}{
		{packets.BadUserNameOrPassword, codes.Unauthorized},
		{packets.NotAuthorized, codes.Forbidden},
		{packets.Banned, codes.Forbidden},
		{packets.TopicNameInvalid, codes.BadRequest},
		{packets.TopicFilterInvalid, codes.BadRequest},
		{packets.QoSNotSupported, codes.BadRequest},
		{packets.RetainNotSupported, codes.BadRequest},
		{packets.PacketTooLarge, codes.RequestEntityTooLarge},
		{packets.QuotaExceeded, codes.TooManyRequests},
		{packets.MessageRateTooHigh, codes.TooManyRequests},
		{packets.ServerBusy, codes.ServiceUnavailable},
		{packets.ImplementationSpecificError, codes.InternalServerError},
		{packets.UnspecifiedError, codes.InternalServerError},
		{packets.ReasonCode(0xFE), codes.InternalServerError},
		{broker.ErrClosed, codes.ServiceUnavailable},
		{fmt.Errorf("wrapped: %w", packets.NotAuthorized), codes.Forbidden},
	}
	for _, tt := range tests {
		code, diag := errorResponse(tt.err)
		if code != tt.code {
			t.Errorf("errorResponse(%v) = %v, want %v", tt.err, code, tt.code)
		}
		if diag == "" {
			t.Errorf("errorResponse(%v): no diagnostic", tt.err)
		}
	}
}

// TestBlockSZX: block sizes are powers of two from 16 to 1024 (RFC 7959
// §2.2).
func TestBlockSZX(t *testing.T) {
	for size, want := range map[int]int{16: 0, 32: 1, 64: 2, 128: 3, 256: 4, 512: 5, 1024: 6} {
		if szx, err := blockSZX(size); err != nil || int(szx) != want {
			t.Errorf("blockSZX(%d) = %d %v, want %d", size, szx, err, want)
		}
	}
	for _, size := range []int{0, 8, 100, 2048} {
		if _, err := blockSZX(size); err == nil {
			t.Errorf("blockSZX(%d): no error", size)
		}
	}
}

// TestMaxTransmitWait: RFC 7252 §4.8.2's MAX_TRANSMIT_WAIT is 93 s with
// the default parameters.
func TestMaxTransmitWait(t *testing.T) {
	c := newConfig(nil)
	if got := c.maxTransmitWait().Seconds(); got != 93 {
		t.Errorf("MAX_TRANSMIT_WAIT = %v s, want 93", got)
	}
}
