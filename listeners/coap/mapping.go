package coap

import (
	"errors"
	"fmt"
	"strings"

	"github.com/plgd-dev/go-coap/v3/message"
	"github.com/plgd-dev/go-coap/v3/message/codes"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// contentFormats maps CoAP Content-Format numbers (the IANA CoAP
// Content-Formats registry) to MQTT 5 Content Type strings. A Content Type
// not listed here reaches CoAP without a Content-Format; a Content-Format
// not listed here reaches MQTT without a Content Type.
var contentFormats = []struct {
	cf message.MediaType
	ct string
}{
	{message.TextPlain, "text/plain;charset=utf-8"},
	{message.AppLinkFormat, "application/link-format"},
	{message.AppXML, "application/xml"},
	{message.AppOctets, "application/octet-stream"},
	{message.AppExi, "application/exi"},
	{message.AppJSON, "application/json"},
	{message.AppJSONPatch, "application/json-patch+json"},
	{message.AppJSONMergePatch, "application/merge-patch+json"},
	{message.AppCBOR, "application/cbor"},
	{message.AppCWT, "application/cwt"},
	{message.AppSenmlJSON, "application/senml+json"},
	{message.AppSenmlCbor, "application/senml+cbor"},
}

// contentType returns the MQTT Content Type of a CoAP Content-Format.
func contentType(cf message.MediaType) (string, bool) {
	for _, e := range contentFormats {
		if e.cf == cf {
			return e.ct, true
		}
	}
	return "", false
}

// contentFormat returns the CoAP Content-Format of an MQTT Content Type.
// The comparison ignores case and blanks around parameters, and a bare
// "text/plain" is taken as UTF-8 (MQTT strings are UTF-8).
func contentFormat(ct string) (message.MediaType, bool) {
	norm := strings.ToLower(strings.ReplaceAll(ct, " ", ""))
	if norm == "text/plain" {
		return message.TextPlain, true
	}
	for _, e := range contentFormats {
		if e.ct == norm {
			return e.cf, true
		}
	}
	return 0, false
}

// responseCodes maps the broker's refusals (packets.ReasonCode) to CoAP
// response codes (RFC 7252 §5.9, RFC 8516 for 4.29). Codes not listed are
// 5.00.
var responseCodes = map[packets.ReasonCode]codes.Code{
	packets.BadUserNameOrPassword:             codes.Unauthorized,
	packets.BadAuthenticationMethod:           codes.Unauthorized,
	packets.NotAuthorized:                     codes.Forbidden,
	packets.Banned:                            codes.Forbidden,
	packets.TopicNameInvalid:                  codes.BadRequest,
	packets.TopicFilterInvalid:                codes.BadRequest,
	packets.ClientIdentifierNotValid:          codes.BadRequest,
	packets.MalformedPacket:                   codes.BadRequest,
	packets.ProtocolError:                     codes.BadRequest,
	packets.PayloadFormatInvalid:              codes.BadRequest,
	packets.QoSNotSupported:                   codes.BadRequest,
	packets.RetainNotSupported:                codes.BadRequest,
	packets.PacketTooLarge:                    codes.RequestEntityTooLarge,
	packets.QuotaExceeded:                     codes.TooManyRequests,
	packets.MessageRateTooHigh:                codes.TooManyRequests,
	packets.ConnectionRateExceeded:            codes.TooManyRequests,
	packets.ServerUnavailable:                 codes.ServiceUnavailable,
	packets.ServerBusy:                        codes.ServiceUnavailable,
	packets.ServerShuttingDown:                codes.ServiceUnavailable,
	packets.UseAnotherServer:                  codes.ServiceUnavailable,
	packets.ServerMoved:                       codes.ServiceUnavailable,
	packets.SharedSubscriptionsNotSupported:   codes.NotImplemented,
	packets.WildcardSubscriptionsNotSupported: codes.NotImplemented,
	packets.ImplementationSpecificError:       codes.InternalServerError,
	packets.UnspecifiedError:                  codes.InternalServerError,
}

// errorResponse returns the CoAP code and diagnostic payload (RFC 7252
// §5.5.2) for an error of the broker.
func errorResponse(err error) (codes.Code, string) {
	if errors.Is(err, broker.ErrClosed) {
		return codes.ServiceUnavailable, "server shutting down"
	}
	var rc packets.ReasonCode
	if errors.As(err, &rc) {
		code, ok := responseCodes[rc]
		if !ok {
			code = codes.InternalServerError
		}
		return code, fmt.Sprintf("%v (reason code 0x%02X)", rc, byte(rc))
	}
	return codes.InternalServerError, err.Error()
}
