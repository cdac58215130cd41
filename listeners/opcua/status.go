package opcua

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gopcua/opcua/ua"
	"github.com/ternmq/broker"
	"github.com/ternmq/broker/packets"
)

// publishStatus maps the error of a broker.Client.Publish (a
// packets.ReasonCode or broker.ErrClosed) to the OPC UA status code an
// OPC UA Write gets. README.md has the table.
func publishStatus(err error) ua.StatusCode {
	if err == nil {
		return ua.StatusGood
	}
	if errors.Is(err, broker.ErrClosed) {
		return ua.StatusBadShutdown
	}
	var rc packets.ReasonCode
	if !errors.As(err, &rc) {
		return ua.StatusBadUnexpectedError
	}
	switch rc {
	case packets.NotAuthorized:
		return ua.StatusBadUserAccessDenied
	case packets.TopicNameInvalid:
		return ua.StatusBadNodeIDInvalid
	case packets.QoSNotSupported, packets.RetainNotSupported:
		return ua.StatusBadNotSupported
	case packets.QuotaExceeded, packets.MessageRateTooHigh:
		return ua.StatusBadTooManyOperations
	case packets.PacketTooLarge, packets.PayloadFormatInvalid:
		return ua.StatusBadEncodingLimitsExceeded
	case packets.ImplementationSpecificError:
		return ua.StatusBadInternalError // storage or authorizer failure
	case packets.ServerBusy:
		return ua.StatusBadResourceUnavailable
	}
	return ua.StatusBadUnexpectedError
}

// statusName is the specification's symbolic name of a status code
// ("Good", "BadNodeIdUnknown"), or its hexadecimal value when unknown.
// Only the code bits (the high 16) are named.
func statusName(sc ua.StatusCode) string {
	code := sc & 0xFFFF0000
	if code == ua.StatusGood {
		return "Good"
	}
	if d, ok := ua.StatusCodes[code]; ok {
		return specStatusName(strings.TrimPrefix(d.Name, "Status"))
	}
	return fmt.Sprintf("0x%08X", uint32(sc))
}

// specStatusName undoes gopcua's Go spelling of identifiers ("NodeID",
// "IDs") in status names.
func specStatusName(n string) string {
	n = strings.ReplaceAll(n, "NodeID", "NodeId")
	n = strings.ReplaceAll(n, "AttributeID", "AttributeId")
	n = strings.ReplaceAll(n, "IDInvalid", "IdInvalid")
	return n
}
