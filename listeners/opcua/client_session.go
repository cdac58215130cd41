package opcua

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	gopcua "github.com/gopcua/opcua"
	"github.com/gopcua/opcua/id"
	"github.com/gopcua/opcua/ua"
	"github.com/ternmq/broker"
)

// mapping is one monitored node of a session: a configured NodeMap or a
// variable found under a BrowseMap root.
type mapping struct {
	nid    *ua.NodeID
	topic  string
	qos    byte
	retain bool
}

// healthInterval is how often an idle session reads the server's state,
// to notice a server that stopped answering without closing the
// connection (or a publish loop that gopcua paused).
const healthInterval = 5 * time.Second

// session runs one connection: connect, subscribe, publish data changes
// until the connection fails or ctx ends. connected reports whether the
// session got as far as monitoring.
func (c *Client) session(ctx context.Context, bc *broker.Client, st *stateTopic) (connected bool, err error) {
	states := make(chan gopcua.ConnState, 16)
	conn, err := c.connect(ctx, states)
	if err != nil {
		return false, err
	}
	defer func() {
		c.mu.Lock()
		c.conn = nil
		c.nodes = nil
		wasUp := c.up
		c.up = false
		c.mu.Unlock()
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = conn.Close(cctx)
		cancel()
		if wasUp {
			st.publish(ctx, "down")
		}
	}()

	maps, nodes := c.mappings(ctx, conn)
	if len(maps) == 0 {
		return false, errors.New("no node to monitor")
	}
	notifs := make(chan *gopcua.PublishNotificationData, 256)
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	sub, err := conn.Subscribe(rctx, &gopcua.SubscriptionParameters{Interval: c.cfg.PublishingInterval}, notifs)
	cancel()
	if err != nil {
		return false, fmt.Errorf("create subscription: %w", err)
	}
	items := make([]*ua.MonitoredItemCreateRequest, len(maps))
	for i, m := range maps {
		items[i] = gopcua.NewMonitoredItemCreateRequestWithDefaults(m.nid, ua.AttributeIDValue, uint32(i))
		items[i].RequestedParameters.QueueSize = c.cfg.QueueSize
	}
	rctx, cancel = context.WithTimeout(ctx, c.cfg.RequestTimeout)
	res, err := sub.Monitor(rctx, ua.TimestampsToReturnBoth, items...)
	cancel()
	if err != nil {
		return false, fmt.Errorf("monitor: %w", err)
	}
	monitored := 0
	for i, r := range res.Results {
		if r.StatusCode != ua.StatusOK {
			c.log.Warn("opcua: the server refused to monitor a node", "listener", c.name, "node_id", maps[i].nid.String(), "topic", maps[i].topic, "status", statusName(r.StatusCode))
			continue
		}
		c.log.Debug("opcua: monitoring", "listener", c.name, "node_id", maps[i].nid.String(), "topic", maps[i].topic,
			"sampling_interval", r.RevisedSamplingInterval, "queue_size", r.RevisedQueueSize)
		monitored++
	}
	if monitored == 0 {
		return false, errors.New("the server refused every monitored item")
	}

	c.connects.Add(1)
	c.mu.Lock()
	c.conn = conn
	c.nodes = nodes
	c.up = true
	c.mu.Unlock()
	st.publish(ctx, "up")
	c.log.Info("opcua: connected", "listener", c.name, "endpoint", c.cfg.Endpoint, "monitored", monitored)

	health := time.NewTicker(healthInterval)
	defer health.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, ctx.Err()
		case s := <-states:
			if s == gopcua.Disconnected || s == gopcua.Closed {
				return true, fmt.Errorf("connection %s", s)
			}
		case <-health.C:
			if err := c.healthy(ctx, conn); err != nil {
				return true, err
			}
		case n := <-notifs:
			if n.Error != nil {
				// gopcua pauses its publish loop after an error it
				// reports: only a new session brings data back.
				return true, fmt.Errorf("subscription: %w", n.Error)
			}
			c.notification(ctx, bc, maps, n.Value)
		}
	}
}

// connect opens a session with the configured security and login.
func (c *Client) connect(ctx context.Context, states chan gopcua.ConnState) (*gopcua.Client, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	opts := []gopcua.Option{
		gopcua.AutoReconnect(false),
		gopcua.StateChangedCh(states),
		gopcua.RequestTimeout(c.cfg.RequestTimeout),
		gopcua.DialTimeout(c.cfg.RequestTimeout),
		gopcua.ApplicationName("Tern " + c.name),
		gopcua.SessionName("tern-" + c.name),
		gopcua.SessionTimeout(time.Minute),
	}
	if c.cfg.CertificateFile != "" {
		opts = append(opts, gopcua.CertificateFile(c.cfg.CertificateFile), gopcua.PrivateKeyFile(c.cfg.PrivateKeyFile))
	}
	eps, err := gopcua.GetEndpoints(rctx, c.cfg.Endpoint, gopcua.DialTimeout(c.cfg.RequestTimeout))
	if err != nil {
		return nil, fmt.Errorf("get endpoints: %w", err)
	}
	ep, err := gopcua.SelectEndpoint(eps, c.cfg.SecurityPolicy, ua.MessageSecurityModeFromString(c.cfg.SecurityMode))
	if err != nil {
		return nil, err
	}
	if c.cfg.Username != "" {
		opts = append(opts, gopcua.AuthUsername(c.cfg.Username, c.cfg.Password), gopcua.SecurityFromEndpoint(ep, ua.UserTokenTypeUserName))
	} else {
		opts = append(opts, gopcua.AuthAnonymous(), gopcua.SecurityFromEndpoint(ep, ua.UserTokenTypeAnonymous))
	}
	conn, err := gopcua.NewClient(c.cfg.Endpoint, opts...)
	if err != nil {
		return nil, err
	}
	if err := conn.Connect(rctx); err != nil {
		_ = conn.Close(context.WithoutCancel(rctx))
		return nil, fmt.Errorf("connect: %w", err)
	}
	return conn, nil
}

// healthy reads the server's state.
func (c *Client) healthy(ctx context.Context, conn *gopcua.Client) error {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	res, err := conn.Read(rctx, &ua.ReadRequest{NodesToRead: []*ua.ReadValueID{{
		NodeID: ua.NewNumericNodeID(0, id.Server_ServerStatus_State), AttributeID: ua.AttributeIDValue,
	}}})
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	if len(res.Results) == 1 && res.Results[0].Status == ua.StatusOK {
		if s, ok := res.Results[0].Value.Value().(int32); ok && ua.ServerState(s) != ua.ServerStateRunning {
			return fmt.Errorf("health check: server state %d", s)
		}
	}
	return nil
}

// mappings lists the nodes to monitor: the configured ones (nodes holds
// them resolved, nil where the server lacks a namespace), then the
// variables under each browse root.
func (c *Client) mappings(ctx context.Context, conn *gopcua.Client) (maps []mapping, nodes []*ua.NodeID) {
	nsArray := conn.Namespaces()
	nodes = make([]*ua.NodeID, len(c.cfg.Nodes))
	for i, n := range c.cfg.Nodes {
		nid, err := resolveNodeID(n.NodeID, nsArray)
		if err != nil {
			c.log.Warn("opcua: node id not found on the server", "listener", c.name, "node_id", n.NodeID, "err", err)
			continue
		}
		nodes[i] = nid
		maps = append(maps, mapping{nid: nid, topic: n.Topic, qos: n.QoS, retain: n.Retain})
	}
	for _, b := range c.cfg.Browse {
		root, err := resolveNodeID(b.Root, nsArray)
		if err == nil {
			var found []mapping
			found, err = c.browse(ctx, conn, root, b)
			maps = append(maps, found...)
		}
		if err != nil {
			c.log.Warn("opcua: cannot browse", "listener", c.name, "root", b.Root, "err", err)
		}
	}
	return maps, nodes
}

// maxBrowsed bounds the variables one browse root yields.
const maxBrowsed = 10000

// browse walks the hierarchical references below root and maps every
// variable to Prefix/<browse names>.
func (c *Client) browse(ctx context.Context, conn *gopcua.Client, root *ua.NodeID, b BrowseMap) ([]mapping, error) {
	type item struct {
		nid   *ua.NodeID
		path  string
		depth int
	}
	var out []mapping
	seen := map[string]bool{root.String(): true}
	queue := []item{{nid: root, path: b.Prefix}}
	for len(queue) > 0 && len(out) < maxBrowsed {
		it := queue[0]
		queue = queue[1:]
		rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
		res, err := conn.Browse(rctx, &ua.BrowseRequest{
			NodesToBrowse: []*ua.BrowseDescription{{
				NodeID: it.nid, BrowseDirection: ua.BrowseDirectionForward,
				ReferenceTypeID: ua.NewNumericNodeID(0, id.HierarchicalReferences), IncludeSubtypes: true,
				NodeClassMask: uint32(ua.NodeClassObject | ua.NodeClassVariable), ResultMask: uint32(ua.BrowseResultMaskAll),
			}},
		})
		cancel()
		if err != nil {
			return out, err
		}
		if len(res.Results) != 1 || res.Results[0].StatusCode != ua.StatusOK {
			continue
		}
		for _, r := range res.Results[0].References {
			nid := r.NodeID.NodeID
			if nid == nil || seen[nid.String()] || r.BrowseName == nil {
				continue
			}
			seen[nid.String()] = true
			level := strings.NewReplacer("/", "_", "+", "_", "#", "_").Replace(r.BrowseName.Name)
			path := it.path + "/" + level
			if r.NodeClass == ua.NodeClassVariable {
				out = append(out, mapping{nid: nid, topic: path, qos: b.QoS, retain: b.Retain})
			}
			if it.depth+1 < b.MaxDepth {
				queue = append(queue, item{nid: nid, path: path, depth: it.depth + 1})
			}
		}
	}
	return out, nil
}

// notification publishes the data changes of one notification.
func (c *Client) notification(ctx context.Context, bc *broker.Client, maps []mapping, v any) {
	switch n := v.(type) {
	case *ua.DataChangeNotification:
		for _, item := range n.MonitoredItems {
			if item == nil || item.Value == nil || int(item.ClientHandle) >= len(maps) {
				continue
			}
			c.changes.Add(1)
			c.dataChange(ctx, bc, maps[item.ClientHandle], item.Value)
		}
	case *ua.StatusChangeNotification:
		c.log.Warn("opcua: subscription status changed", "listener", c.name, "status", statusName(n.Status))
	}
}

// changeJSON is the JSON payload of a data change.
type changeJSON struct {
	Value           any    `json:"value"`
	Type            string `json:"type"`
	Status          string `json:"status"`
	SourceTimestamp string `json:"source_timestamp,omitempty"`
	ServerTimestamp string `json:"server_timestamp,omitempty"`
}

// dataChange publishes one value.
func (c *Client) dataChange(ctx context.Context, bc *broker.Client, m mapping, dv *ua.DataValue) {
	if dv.Value != nil && dv.Value.Type() != ua.TypeIDNull {
		c.mu.Lock()
		c.types[m.nid.String()] = dv.Value.Type()
		c.mu.Unlock()
	}
	msg := &broker.Message{Topic: m.topic, QoS: m.qos, Retain: m.retain}
	if c.cfg.Payload == PayloadRaw {
		msg.Payload = rawPayload(dv.Value)
		if dv.Value != nil {
			_, isBytes := dv.Value.Value().([]byte)
			msg.PayloadUTF8 = !isBytes
		}
	} else {
		j := changeJSON{Type: typeName(dv.Value), Status: statusName(dv.Status)}
		if dv.Value != nil {
			j.Value = jsonValue(dv.Value.Value())
		}
		if !dv.SourceTimestamp.IsZero() {
			j.SourceTimestamp = dv.SourceTimestamp.UTC().Format(time.RFC3339Nano)
		}
		if !dv.ServerTimestamp.IsZero() {
			j.ServerTimestamp = dv.ServerTimestamp.UTC().Format(time.RFC3339Nano)
		}
		b, err := json.Marshal(j)
		if err != nil {
			j.Value = fmt.Sprint(j.Value)
			b, _ = json.Marshal(j)
		}
		msg.Payload, msg.PayloadUTF8, msg.ContentType = b, true, "application/json"
	}
	pctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	if _, err := bc.Publish(pctx, msg); err != nil {
		c.pubErrors.Add(1)
		c.log.Debug("opcua: publish refused", "listener", c.name, "topic", m.topic, "err", err)
		return
	}
	c.published.Add(1)
}
