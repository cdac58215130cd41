package config

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/ternmq/broker/topics"
)

// OPCUA configures a listener of type opcua (package listeners/opcua), in
// one of two modes:
//
//	listeners:
//	- type: opcua                 # server mode: OPC UA clients read MQTT topics
//	  name: plant
//	  address: "0.0.0.0:4840"
//	  opcua:
//	    mode: server
//	    identity: {client_id: opcua-bridge, username: bridge, password: "${BRIDGE_PASSWORD}"}
//	    expose:
//	      - {filter: "factory/#", encoding: number, writable: true, qos: 1}
//
//	- type: opcua                 # client mode: a PLC's tags become topics
//	  name: plc1                  # no address: it connects out
//	  opcua:
//	    mode: client
//	    endpoint: opc.tcp://192.168.0.10:4840
//	    publishing_interval: 100ms
//	    nodes:
//	      - {node_id: "ns=2;s=Line1.Temperature", topic: factory/line1/temperature, qos: 1, retain: true}
//	      - {node_id: "ns=2;s=Line1.Setpoint", topic: factory/line1/setpoint, command_topic: factory/line1/setpoint/set}
//
// Keys of the other mode are errors. Defaults are listeners/opcua's.
type OPCUA struct {
	Mode     string        `yaml:"mode"` // server or client; required
	Identity OPCUAIdentity `yaml:"identity"`

	// Server mode.
	Namespace string        `yaml:"namespace"`
	RootName  string        `yaml:"root_name"`
	Hostname  string        `yaml:"hostname"`
	MaxNodes  int           `yaml:"max_nodes"`
	Expose    []OPCUAExpose `yaml:"expose"`

	// Client mode.
	Endpoint           string        `yaml:"endpoint"`
	SecurityPolicy     string        `yaml:"security_policy"` // None, Basic256Sha256, ...
	SecurityMode       string        `yaml:"security_mode"`   // None, Sign, SignAndEncrypt
	Username           string        `yaml:"username"`        // OPC UA login; anonymous when empty
	Password           string        `yaml:"password"`
	Certificate        string        `yaml:"certificate"` // file, for policies other than None
	PrivateKey         string        `yaml:"private_key"` // file
	PublishingInterval time.Duration `yaml:"publishing_interval"`
	QueueSize          uint32        `yaml:"queue_size"`
	Payload            string        `yaml:"payload"` // json or raw
	StateTopic         string        `yaml:"state_topic"`
	ReconnectMin       time.Duration `yaml:"reconnect_min"`
	ReconnectMax       time.Duration `yaml:"reconnect_max"`
	RequestTimeout     time.Duration `yaml:"request_timeout"`
	Nodes              []OPCUANode   `yaml:"nodes"`
	Browse             []OPCUABrowse `yaml:"browse"`
}

// OPCUAIdentity is who the bridge acts as towards the broker's
// authentication and ACL.
type OPCUAIdentity struct {
	ClientID string `yaml:"client_id"`
	Username string `yaml:"username"`
	Password string `yaml:"password"`
}

// OPCUAExpose is one topic filter of server mode.
type OPCUAExpose struct {
	Filter   string `yaml:"filter"`
	Encoding string `yaml:"encoding"` // string (default), json, number, bytes
	Writable bool   `yaml:"writable"`
	QoS      byte   `yaml:"qos"`
	Retain   bool   `yaml:"retain"`
}

// OPCUANode maps one node of client mode to a topic.
type OPCUANode struct {
	NodeID       string `yaml:"node_id"`
	Topic        string `yaml:"topic"`
	QoS          byte   `yaml:"qos"`
	Retain       bool   `yaml:"retain"`
	CommandTopic string `yaml:"command_topic"`
	ResultTopic  string `yaml:"result_topic"`
}

// OPCUABrowse maps the variables under a node of client mode to topics
// under a prefix.
type OPCUABrowse struct {
	Root     string `yaml:"root"`
	Prefix   string `yaml:"prefix"`
	QoS      byte   `yaml:"qos"`
	Retain   bool   `yaml:"retain"`
	MaxDepth int    `yaml:"max_depth"`
}

// opcuaEncodings, opcuaPayloads and opcuaSecurityModes are the accepted
// values of their keys.
var (
	opcuaEncodings     = []string{"string", "json", "number", "bytes"}
	opcuaPayloads      = []string{"json", "raw"}
	opcuaSecurityModes = []string{"None", "Sign", "SignAndEncrypt"}
)

// opcuaAddressOptional reports whether l needs no address: client mode
// connects out.
func opcuaAddressOptional(l *Listener) bool {
	return l.Type == "opcua" && l.OPCUA != nil && strings.EqualFold(l.OPCUA.Mode, "client")
}

// opcua validates the opcua block of listener p.
func (d *decoder) opcua(p string, l *Listener) {
	if l.Type != "opcua" {
		if l.OPCUA != nil {
			d.invalid(p+".opcua", "is set but the listener's type is %q", l.Type)
		}
		return
	}
	o := l.OPCUA
	if o == nil {
		d.invalidNear(p+".opcua.mode", p+".type", "is required for type opcua (server or client)")
		return
	}
	b := p + ".opcua"
	o.Mode = strings.ToLower(o.Mode)
	switch o.Mode {
	case "server":
		d.opcuaServer(b, o)
		d.opcuaOnlyIn(b, "client", map[string]bool{
			"endpoint": o.Endpoint != "", "security_policy": o.SecurityPolicy != "", "security_mode": o.SecurityMode != "",
			"username": o.Username != "", "password": o.Password != "", "certificate": o.Certificate != "",
			"private_key": o.PrivateKey != "", "publishing_interval": o.PublishingInterval != 0, "queue_size": o.QueueSize != 0,
			"payload": o.Payload != "", "state_topic": o.StateTopic != "", "reconnect_min": o.ReconnectMin != 0,
			"reconnect_max": o.ReconnectMax != 0, "request_timeout": o.RequestTimeout != 0, "nodes": o.Nodes != nil, "browse": o.Browse != nil,
		})
	case "client":
		if l.Address != "" {
			d.invalid(p+".address", "is not used in client mode (it connects to opcua.endpoint)")
		}
		d.opcuaClient(b, o)
		d.opcuaOnlyIn(b, "server", map[string]bool{
			"namespace": o.Namespace != "", "root_name": o.RootName != "", "hostname": o.Hostname != "",
			"max_nodes": o.MaxNodes != 0, "expose": o.Expose != nil,
		})
	case "":
		d.invalidNear(b+".mode", b, "is required (server or client)")
	default:
		d.invalid(b+".mode", "unknown mode %q (server or client)", o.Mode)
	}
}

// opcuaOnlyIn reports the keys set that belong to the other mode.
func (d *decoder) opcuaOnlyIn(b, mode string, set map[string]bool) {
	keys := make([]string, 0, len(set))
	for k, isSet := range set {
		if isSet {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		d.invalid(b+"."+k, "is a %s mode key (opcua.mode is not %s)", mode, mode)
	}
}

func (d *decoder) opcuaServer(b string, o *OPCUA) {
	if len(o.Expose) == 0 {
		d.invalidNear(b+".expose", b+".mode", "is required in server mode: the topic filters to mirror, e.g. [{filter: \"factory/#\"}]")
	}
	if o.MaxNodes < 0 {
		d.invalid(b+".max_nodes", "must be positive (0: the default)")
	}
	for i := range o.Expose {
		e := &o.Expose[i]
		p := fmt.Sprintf("%s.expose[%d]", b, i)
		if e.Filter == "" {
			d.invalidNear(p+".filter", p, "is required")
		} else if topics.ValidateFilter([]byte(e.Filter)) != nil {
			d.invalid(p+".filter", "%q is not a valid MQTT topic filter", e.Filter)
		}
		e.Encoding = strings.ToLower(e.Encoding)
		if e.Encoding == "" {
			e.Encoding = "string"
		}
		if !slices.Contains(opcuaEncodings, e.Encoding) {
			d.invalid(p+".encoding", "unknown encoding %q (one of: %s)", e.Encoding, strings.Join(opcuaEncodings, ", "))
		}
		d.qos(p+".qos", e.QoS)
	}
}

func (d *decoder) opcuaClient(b string, o *OPCUA) {
	if o.Endpoint == "" {
		d.invalidNear(b+".endpoint", b+".mode", "is required in client mode (opc.tcp://host:port)")
	} else if err := checkOPCUAEndpoint(o.Endpoint); err != nil {
		d.invalid(b+".endpoint", "%v", err)
	}
	if len(o.Nodes) == 0 && len(o.Browse) == 0 {
		d.invalidNear(b+".nodes", b+".mode", "client mode needs nodes or browse")
	}
	if o.SecurityMode != "" && !slices.Contains(opcuaSecurityModes, o.SecurityMode) {
		d.invalid(b+".security_mode", "unknown security mode %q (one of: %s)", o.SecurityMode, strings.Join(opcuaSecurityModes, ", "))
	}
	secure := o.SecurityPolicy != "" && o.SecurityPolicy != "None"
	if secure && (o.Certificate == "" || o.PrivateKey == "") {
		d.invalid(b+".security_policy", "%s needs certificate and private_key", o.SecurityPolicy)
	}
	o.Payload = strings.ToLower(o.Payload)
	if o.Payload != "" && !slices.Contains(opcuaPayloads, o.Payload) {
		d.invalid(b+".payload", "unknown payload %q (one of: %s)", o.Payload, strings.Join(opcuaPayloads, ", "))
	}
	if o.StateTopic != "" && topics.ValidateName([]byte(o.StateTopic)) != nil {
		d.invalid(b+".state_topic", "%q is not a valid MQTT topic name", o.StateTopic)
	}
	for _, k := range []struct {
		key string
		v   time.Duration
	}{{"publishing_interval", o.PublishingInterval}, {"reconnect_min", o.ReconnectMin}, {"reconnect_max", o.ReconnectMax}, {"request_timeout", o.RequestTimeout}} {
		if k.v < 0 {
			d.invalid(b+"."+k.key, "must be positive")
		}
	}
	for i, n := range o.Nodes {
		p := fmt.Sprintf("%s.nodes[%d]", b, i)
		d.nodeID(p+".node_id", p, n.NodeID)
		d.topicName(p+".topic", p, n.Topic, true)
		d.topicName(p+".command_topic", p, n.CommandTopic, false)
		d.topicName(p+".result_topic", p, n.ResultTopic, false)
		if n.ResultTopic != "" && n.CommandTopic == "" {
			d.invalid(p+".result_topic", "is set without command_topic")
		}
		d.qos(p+".qos", n.QoS)
	}
	for i, br := range o.Browse {
		p := fmt.Sprintf("%s.browse[%d]", b, i)
		d.nodeID(p+".root", p, br.Root)
		d.topicName(p+".prefix", p, br.Prefix, true)
		d.qos(p+".qos", br.QoS)
		if br.MaxDepth < 0 {
			d.invalid(p+".max_depth", "must be positive (0: the default, 5)")
		}
	}
}

// nodeID checks an OPC UA node id (ns=2;s=..., nsu=urn:...;i=...).
func (d *decoder) nodeID(path, near, s string) {
	if s == "" {
		d.invalidNear(path, near, "is required (e.g. \"ns=2;s=Line1.Temperature\")")
		return
	}
	var ns []string
	if rest, ok := strings.CutPrefix(s, "nsu="); ok {
		uri, _, _ := strings.Cut(rest, ";")
		ns = []string{"", uri}
	}
	if _, err := ua.ParseExpandedNodeID(s, ns); err != nil {
		d.invalid(path, "%q is not an OPC UA node id (ns=<index>;s=<name>, ns=<index>;i=<number>, nsu=<uri>;...): %v", s, err)
	}
}

// topicName checks an MQTT topic name; required says whether it may be
// empty.
func (d *decoder) topicName(path, near, s string, required bool) {
	switch {
	case s == "" && required:
		d.invalidNear(path, near, "is required")
	case s != "" && topics.ValidateName([]byte(s)) != nil:
		d.invalid(path, "%q is not a valid MQTT topic name (no wildcards)", s)
	}
}

func (d *decoder) qos(path string, q byte) {
	if q > 2 {
		d.invalid(path, "%d is not a QoS (0, 1 or 2)", q)
	}
}

// checkOPCUAEndpoint checks an opc.tcp URL.
func checkOPCUAEndpoint(url string) error {
	rest, ok := strings.CutPrefix(url, "opc.tcp://")
	if !ok {
		return fmt.Errorf("%q is not an OPC UA endpoint (opc.tcp://host:port[/path])", url)
	}
	hostport, _, _ := strings.Cut(rest, "/")
	if hostport == "" {
		return fmt.Errorf("%q has no host", url)
	}
	if strings.Contains(hostport, ":") {
		if _, port, err := net.SplitHostPort(hostport); err != nil || port == "" {
			return fmt.Errorf("%q: %q is not host:port", url, hostport)
		}
	}
	return nil
}
