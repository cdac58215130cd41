package opcua

import (
	"fmt"
	"log/slog"
	"math"
	"runtime/debug"
	"time"

	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/server"
	"github.com/gopcua/opcua/ua"
	"github.com/gopcua/opcua/uasc"
)

// Publishing intervals the server grants (a client asking for 0 would
// make gopcua's subscription goroutine panic on time.NewTicker(0)).
const (
	minPublishingInterval = 10.0          // ms
	maxPublishingInterval = 3600 * 1000.0 // ms
)

// registerHandlers replaces some of gopcua's service handlers before the
// server starts (gopcua keeps a handler registered first):
//
//   - Read, Write and Browse loop over the namespaces as gopcua's do, but
//     recover from a namespace's panic, and Write refuses namespace 0
//     (gopcua's lets a client overwrite the server's own nodes and
//     dereferences nil for an unknown namespace);
//   - GetEndpoints advertises only the public endpoint (the bridge
//     proxies it to gopcua's loopback one);
//   - CreateSubscription needs a session and gets a publishing interval
//     within bounds;
//   - the other subscription and monitored item services are gopcua's,
//     behind a recover: several of them dereference nil on unknown ids,
//     which would otherwise end the process.
func (s *Server) registerHandlers(srv *server.Server, ts *topicSpace, public string) {
	log := s.log
	reg := func(typeID uint16, name string, h server.Handler) {
		srv.RegisterHandler(typeID, guard(log, name, h))
	}
	reg(id.ReadRequest_Encoding_DefaultBinary, "Read", func(_ *uasc.SecureChannel, r ua.Request, _ uint32) (ua.Response, error) {
		return read(srv, log, r)
	})
	reg(id.WriteRequest_Encoding_DefaultBinary, "Write", func(_ *uasc.SecureChannel, r ua.Request, _ uint32) (ua.Response, error) {
		return write(srv, ts, r)
	})
	reg(id.BrowseRequest_Encoding_DefaultBinary, "Browse", func(_ *uasc.SecureChannel, r ua.Request, _ uint32) (ua.Response, error) {
		return browse(srv, log, r)
	})
	reg(id.GetEndpointsRequest_Encoding_DefaultBinary, "GetEndpoints", func(_ *uasc.SecureChannel, r ua.Request, _ uint32) (ua.Response, error) {
		req, ok := r.(*ua.GetEndpointsRequest)
		if !ok {
			return nil, ua.StatusBadRequestTypeInvalid
		}
		var eps []*ua.EndpointDescription
		for _, ep := range srv.Endpoints() {
			if ep.EndpointURL == public {
				eps = append(eps, ep)
			}
		}
		return &ua.GetEndpointsResponse{ResponseHeader: header(req.RequestHeader), Endpoints: eps}, nil
	})
	reg(id.CreateSubscriptionRequest_Encoding_DefaultBinary, "CreateSubscription", func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
		req, ok := r.(*ua.CreateSubscriptionRequest)
		if !ok {
			return nil, ua.StatusBadRequestTypeInvalid
		}
		if srv.Session(req.RequestHeader) == nil {
			return nil, ua.StatusBadSessionIDInvalid
		}
		if !s.beginCreate() {
			return nil, ua.StatusBadShutdown
		}
		defer s.creating.wg.Done()
		iv := req.RequestedPublishingInterval
		if math.IsNaN(iv) || iv < minPublishingInterval {
			iv = minPublishingInterval
		}
		req.RequestedPublishingInterval = min(iv, maxPublishingInterval)
		resp, err := srv.SubscriptionService.CreateSubscription(sc, req, reqID)
		if cr, ok := resp.(*ua.CreateSubscriptionResponse); ok && err == nil {
			s.created(srv, cr.SubscriptionID)
		}
		return resp, err
	})
	// The other subscription services stay gopcua's, behind reg's guard;
	// the service is looked up at each call (srv sets it up at Start).
	type subCall = func(*server.SubscriptionService, *uasc.SecureChannel, ua.Request, uint32) (ua.Response, error)
	for typeID, h := range map[uint16]struct {
		name string
		call subCall
	}{
		id.ModifySubscriptionRequest_Encoding_DefaultBinary:    {"ModifySubscription", (*server.SubscriptionService).ModifySubscription},
		id.SetPublishingModeRequest_Encoding_DefaultBinary:     {"SetPublishingMode", (*server.SubscriptionService).SetPublishingMode},
		id.PublishRequest_Encoding_DefaultBinary:               {"Publish", (*server.SubscriptionService).Publish},
		id.RepublishRequest_Encoding_DefaultBinary:             {"Republish", (*server.SubscriptionService).Republish},
		id.TransferSubscriptionsRequest_Encoding_DefaultBinary: {"TransferSubscriptions", (*server.SubscriptionService).TransferSubscriptions},
		id.DeleteSubscriptionsRequest_Encoding_DefaultBinary:   {"DeleteSubscriptions", (*server.SubscriptionService).DeleteSubscriptions},
	} {
		reg(typeID, h.name, func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
			return h.call(srv.SubscriptionService, sc, r, reqID)
		})
	}
	type itemCall = func(*server.MonitoredItemService, *uasc.SecureChannel, ua.Request, uint32) (ua.Response, error)
	for typeID, h := range map[uint16]struct {
		name string
		call itemCall
	}{
		id.CreateMonitoredItemsRequest_Encoding_DefaultBinary: {"CreateMonitoredItems", (*server.MonitoredItemService).CreateMonitoredItems},
		id.ModifyMonitoredItemsRequest_Encoding_DefaultBinary: {"ModifyMonitoredItems", (*server.MonitoredItemService).ModifyMonitoredItems},
		id.SetMonitoringModeRequest_Encoding_DefaultBinary:    {"SetMonitoringMode", (*server.MonitoredItemService).SetMonitoringMode},
		id.SetTriggeringRequest_Encoding_DefaultBinary:        {"SetTriggering", (*server.MonitoredItemService).SetTriggering},
		id.DeleteMonitoredItemsRequest_Encoding_DefaultBinary: {"DeleteMonitoredItems", (*server.MonitoredItemService).DeleteMonitoredItems},
	} {
		reg(typeID, h.name, func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (ua.Response, error) {
			return h.call(srv.MonitoredItemService, sc, r, reqID)
		})
	}
}

// guard turns a panic in h into a BadInternalError answer, logged with
// its stack.
func guard(log *slog.Logger, name string, h server.Handler) server.Handler {
	return func(sc *uasc.SecureChannel, r ua.Request, reqID uint32) (resp ua.Response, err error) {
		defer func() {
			if p := recover(); p != nil {
				log.Warn("opcua: service panicked", "service", name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				resp, err = nil, ua.StatusBadInternalError
			}
		}()
		return h(sc, r, reqID)
	}
}

// protect runs f, turning a panic into a status code.
func protect(log *slog.Logger, what string, f func()) (sc ua.StatusCode) {
	defer func() {
		if p := recover(); p != nil {
			log.Warn("opcua: namespace panicked", "call", what, "panic", fmt.Sprint(p))
			sc = ua.StatusBadInternalError
		}
	}()
	f()
	return ua.StatusGood
}

func header(h *ua.RequestHeader) *ua.ResponseHeader {
	var handle uint32
	if h != nil {
		handle = h.RequestHandle
	}
	return &ua.ResponseHeader{
		Timestamp:          time.Now(),
		RequestHandle:      handle,
		ServiceResult:      ua.StatusOK,
		ServiceDiagnostics: &ua.DiagnosticInfo{},
		StringTable:        []string{},
		AdditionalHeader:   ua.NewExtensionObject(nil),
	}
}

func read(srv *server.Server, log *slog.Logger, r ua.Request) (ua.Response, error) {
	req, ok := r.(*ua.ReadRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	results := make([]*ua.DataValue, len(req.NodesToRead))
	for i, n := range req.NodesToRead {
		if n == nil || n.NodeID == nil {
			results[i] = badValue(ua.StatusBadNodeIDInvalid)
			continue
		}
		ns, err := srv.Namespace(int(n.NodeID.Namespace()))
		if err != nil {
			results[i] = badValue(ua.StatusBadNodeIDUnknown)
			continue
		}
		if sc := protect(log, "Attribute", func() { results[i] = ns.Attribute(n.NodeID, n.AttributeID) }); sc != ua.StatusGood || results[i] == nil {
			results[i] = badValue(ua.StatusBadInternalError)
		}
	}
	return &ua.ReadResponse{ResponseHeader: header(req.RequestHeader), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

func write(srv *server.Server, ts *topicSpace, r ua.Request) (ua.Response, error) {
	req, ok := r.(*ua.WriteRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	status := make([]ua.StatusCode, len(req.NodesToWrite))
	for i, n := range req.NodesToWrite {
		switch {
		case n == nil || n.NodeID == nil:
			status[i] = ua.StatusBadNodeIDInvalid
		case n.NodeID.Namespace() == ts.ID():
			if n.IndexRange != "" {
				status[i] = ua.StatusBadWriteNotSupported
				continue
			}
			status[i] = ts.SetAttribute(n.NodeID, n.AttributeID, n.Value)
		case int(n.NodeID.Namespace()) < len(srv.Namespaces()):
			status[i] = ua.StatusBadNotWritable // the server's own nodes
		default:
			status[i] = ua.StatusBadNodeIDUnknown
		}
	}
	return &ua.WriteResponse{ResponseHeader: header(req.RequestHeader), Results: status, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}

func browse(srv *server.Server, log *slog.Logger, r ua.Request) (ua.Response, error) {
	req, ok := r.(*ua.BrowseRequest)
	if !ok {
		return nil, ua.StatusBadRequestTypeInvalid
	}
	results := make([]*ua.BrowseResult, len(req.NodesToBrowse))
	for i, bd := range req.NodesToBrowse {
		if bd == nil || bd.NodeID == nil {
			results[i] = &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDInvalid}
			continue
		}
		ns, err := srv.Namespace(int(bd.NodeID.Namespace()))
		if err != nil {
			results[i] = &ua.BrowseResult{StatusCode: ua.StatusBadNodeIDUnknown}
			continue
		}
		if sc := protect(log, "Browse", func() { results[i] = ns.Browse(bd) }); sc != ua.StatusGood || results[i] == nil {
			results[i] = &ua.BrowseResult{StatusCode: ua.StatusBadInternalError}
		}
	}
	return &ua.BrowseResponse{ResponseHeader: header(req.RequestHeader), Results: results, DiagnosticInfos: []*ua.DiagnosticInfo{}}, nil
}
