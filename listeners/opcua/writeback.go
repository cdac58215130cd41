package opcua

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/gopcua/opcua/ua"
	"github.com/ternmq/broker"
)

// resultJSON is the payload published to a result topic after a
// write-back command.
type resultJSON struct {
	NodeID string `json:"node_id"`
	Status string `json:"status"`          // "Good" or a Bad status name
	Code   uint32 `json:"code"`            // the status code's value
	Error  string `json:"error,omitempty"` // why the command was not written
}

// command writes the payload of a message on node i's command topic to the
// node and publishes the outcome. It runs on the command subscription's
// goroutine, so a slow server delays only later commands.
func (c *Client) command(ctx context.Context, bc *broker.Client, i int, m *broker.Message) {
	n := c.cfg.Nodes[i]
	sc, why := c.writeNode(ctx, i, m.Payload)
	if sc == ua.StatusOK {
		c.writes.Add(1)
	} else {
		c.writeErrors.Add(1)
		c.log.Debug("opcua: write-back failed", "listener", c.name, "node_id", n.NodeID, "status", statusName(sc), "why", why)
	}
	payload, _ := json.Marshal(resultJSON{NodeID: n.NodeID, Status: statusName(sc), Code: uint32(sc), Error: why})
	for _, topic := range []string{n.ResultTopic, m.ResponseTopic} {
		if topic == "" {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
		_, err := bc.Publish(pctx, &broker.Message{Topic: topic, Payload: payload, QoS: min(m.QoS, 1), PayloadUTF8: true, ContentType: "application/json", CorrelationData: m.CorrelationData})
		cancel()
		if err != nil {
			c.log.Debug("opcua: cannot publish a write result", "listener", c.name, "topic", topic, "err", err)
		}
	}
}

// writeNode converts payload to the value type of node i and writes it. It
// returns the status (the server's, or the bridge's own when it could not
// write) and, for the bridge's own, why.
func (c *Client) writeNode(ctx context.Context, i int, payload []byte) (ua.StatusCode, string) {
	c.mu.Lock()
	conn := c.conn
	var nid *ua.NodeID
	if conn != nil {
		nid = c.nodes[i]
	}
	var t ua.TypeID
	known := false
	if nid != nil {
		t, known = c.types[nid.String()]
	}
	c.mu.Unlock()
	if conn == nil {
		return ua.StatusBadNotConnected, "not connected to the OPC UA server"
	}
	if nid == nil {
		return ua.StatusBadNodeIDUnknown, "the node's namespace is not on the server"
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	if !known {
		// No value seen yet: read one to learn the type.
		res, err := conn.Read(rctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{NodeID: nid, AttributeID: ua.AttributeIDValue}}})
		if err != nil {
			return statusOf(err), err.Error()
		}
		if len(res.Results) != 1 || res.Results[0].Status != ua.StatusOK || res.Results[0].Value == nil {
			return ua.StatusBadWaitingForInitialData, "the node's value type is unknown"
		}
		t = res.Results[0].Value.Type()
	}
	v, err := commandVariant(payload, t)
	if err != nil {
		return ua.StatusBadTypeMismatch, err.Error()
	}
	res, err := conn.Write(rctx, &ua.WriteRequest{NodesToWrite: []*ua.WriteValue{{
		NodeID: nid, AttributeID: ua.AttributeIDValue,
		Value: &ua.DataValue{EncodingMask: ua.DataValueValue, Value: v},
	}}})
	if err != nil {
		return statusOf(err), err.Error()
	}
	if len(res.Results) != 1 {
		return ua.StatusBadUnexpectedError, "malformed write response"
	}
	return res.Results[0], ""
}

// statusOf is the status code an error carries, BadCommunicationError
// for a transport failure.
func statusOf(err error) ua.StatusCode {
	var sc ua.StatusCode
	if errors.As(err, &sc) {
		return sc
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return ua.StatusBadTimeout
	}
	return ua.StatusBadCommunicationError
}
