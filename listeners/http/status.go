package httpbridge

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// errShuttingDown answers requests that arrive while the broker stops.
var errShuttingDown error = packets.ServerShuttingDown

// requestError is a problem with the HTTP request itself (a parameter or
// header), carrying the reason code an MQTT client would get for the same
// mistake in its packet.
type requestError struct {
	msg  string
	code packets.ReasonCode
}

func (e *requestError) Error() string { return e.msg }
func (e *requestError) Unwrap() error { return e.code }

func malformed(msg string) error { return &requestError{msg: msg, code: packets.MalformedPacket} }

// codeOf is the MQTT 5 reason code of err.
func codeOf(err error) packets.ReasonCode {
	if errors.Is(err, broker.ErrClosed) {
		return packets.ServerShuttingDown
	}
	return packets.CodeOf(err)
}

// statusOf is the HTTP status that fits err's reason code: the client's
// credentials (401), its rights (403), its request (400, 413), its rate
// or quota (429), or the server's state (503). README.md has the table.
func statusOf(err error) int {
	switch codeOf(err) {
	case packets.BadUserNameOrPassword, packets.BadAuthenticationMethod:
		return http.StatusUnauthorized
	case packets.NotAuthorized, packets.Banned:
		return http.StatusForbidden
	case packets.MalformedPacket, packets.ProtocolError, packets.TopicFilterInvalid,
		packets.TopicNameInvalid, packets.PayloadFormatInvalid, packets.RetainNotSupported,
		packets.QoSNotSupported, packets.SharedSubscriptionsNotSupported,
		packets.SubscriptionIdentifiersNotSupported, packets.WildcardSubscriptionsNotSupported,
		packets.ClientIdentifierNotValid:
		return http.StatusBadRequest
	case packets.PacketTooLarge:
		return http.StatusRequestEntityTooLarge
	case packets.MessageRateTooHigh, packets.QuotaExceeded, packets.ConnectionRateExceeded:
		return http.StatusTooManyRequests
	case packets.UnspecifiedError, packets.ImplementationSpecificError, packets.ServerUnavailable,
		packets.ServerBusy, packets.ServerShuttingDown, packets.UseAnotherServer, packets.ServerMoved:
		// The server could not do it now (an authorizer's or storage
		// backend's failure, a shutdown): worth retrying later.
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Error      string `json:"error"`
	ReasonCode *int   `json:"reason_code,omitempty"`
}

// writeError answers with status and err's message and reason code.
func writeError(w http.ResponseWriter, status int, err error) {
	code := int(codeOf(err))
	msg := err.Error()
	if errors.Is(err, broker.ErrClosed) {
		msg = packets.ServerShuttingDown.Error()
	}
	if status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, status, errorBody{Error: msg, ReasonCode: &code})
}

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
