package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseOPCUAListeners(t *testing.T) {
	const file = `
listeners:
  - type: tcp
    address: "127.0.0.1:1883"
  - type: opcua
    name: plant
    address: "127.0.0.1:4840"
    opcua:
      mode: server
      identity: {client_id: opcua-bridge, username: bridge, password: "${PW}"}
      max_nodes: 500
      expose:
        - {filter: "factory/#", encoding: NUMBER, writable: true, qos: 1, retain: true}
        - filter: "office/#"
  - type: opcua
    name: plc1
    opcua:
      mode: Client
      endpoint: opc.tcp://10.0.0.7:4840/plc
      username: operator
      password: s3cret
      publishing_interval: 50ms
      payload: raw
      reconnect_max: 10s
      nodes:
        - {node_id: "ns=2;s=Line1.Temperature", topic: factory/line1/temperature, qos: 1, retain: true}
        - node_id: "nsu=urn:acme:plc;i=1001"
          topic: factory/line1/setpoint
          command_topic: factory/line1/setpoint/set
      browse:
        - {root: "ns=2;s=Line2", prefix: factory/line2}
`
	c, err := Parse("tern.yaml", []byte(file), env(map[string]string{"PW": "pw"}))
	if err != nil {
		t.Fatal(err)
	}
	want := []Listener{
		{Type: "tcp", Name: "tcp", Address: "127.0.0.1:1883"},
		{Type: "opcua", Name: "plant", Address: "127.0.0.1:4840", OPCUA: &OPCUA{
			Mode:     "server",
			Identity: OPCUAIdentity{ClientID: "opcua-bridge", Username: "bridge", Password: "pw"},
			MaxNodes: 500,
			Expose: []OPCUAExpose{
				{Filter: "factory/#", Encoding: "number", Writable: true, QoS: 1, Retain: true},
				{Filter: "office/#", Encoding: "string"},
			},
		}},
		{Type: "opcua", Name: "plc1", OPCUA: &OPCUA{
			Mode:               "client",
			Endpoint:           "opc.tcp://10.0.0.7:4840/plc",
			Username:           "operator",
			Password:           "s3cret",
			PublishingInterval: 50 * time.Millisecond,
			Payload:            "raw",
			ReconnectMax:       10 * time.Second,
			Nodes: []OPCUANode{
				{NodeID: "ns=2;s=Line1.Temperature", Topic: "factory/line1/temperature", QoS: 1, Retain: true},
				{NodeID: "nsu=urn:acme:plc;i=1001", Topic: "factory/line1/setpoint", CommandTopic: "factory/line1/setpoint/set"},
			},
			Browse: []OPCUABrowse{{Root: "ns=2;s=Line2", Prefix: "factory/line2"}},
		}},
	}
	if diff := cmp.Diff(want, c.Listeners); diff != "" {
		t.Errorf("listeners (-want +got):\n%s", diff)
	}
}

func TestParseOPCUAErrorsNameKeyAndLine(t *testing.T) {
	const head = "listeners:\n  - type: opcua\n    name: u\n"
	for _, tt := range []struct {
		name string
		file string
		want []string
	}{
		{
			"no opcua block",
			head + "    address: \":4840\"\n",
			[]string{`line 2: listeners[0].opcua.mode: is required for type opcua (server or client)`},
		},
		{
			"unknown mode",
			head + "    address: \":4840\"\n    opcua:\n      mode: both\n",
			[]string{`line 6: listeners[0].opcua.mode: unknown mode "both" (server or client)`},
		},
		{
			"server without expose or address",
			head + "    opcua:\n      mode: server\n",
			[]string{`line 5: listeners[0].opcua.expose: is required in server mode`, `line 2: listeners[0].address: is required`},
		},
		{
			"bad filter and encoding",
			head + "    address: \":4840\"\n    opcua:\n      mode: server\n      expose:\n        - filter: \"a/#/b\"\n          encoding: xml\n          qos: 3\n",
			[]string{
				`line 8: listeners[0].opcua.expose[0].filter: "a/#/b" is not a valid MQTT topic filter`,
				`line 9: listeners[0].opcua.expose[0].encoding: unknown encoding "xml"`,
				`line 10: listeners[0].opcua.expose[0].qos: 3 is not a QoS`,
			},
		},
		{
			"client keys in server mode",
			head + "    address: \":4840\"\n    opcua:\n      mode: server\n      expose: [{filter: a}]\n      endpoint: opc.tcp://x:1\n",
			[]string{`line 8: listeners[0].opcua.endpoint: is a client mode key (opcua.mode is not client)`},
		},
		{
			"bad endpoint",
			head + "    opcua:\n      mode: client\n      endpoint: http://plc:4840\n      nodes: [{node_id: \"ns=1;s=a\", topic: t}]\n",
			[]string{`line 6: listeners[0].opcua.endpoint: "http://plc:4840" is not an OPC UA endpoint`},
		},
		{
			"endpoint with a bad port",
			head + "    opcua:\n      mode: client\n      endpoint: \"opc.tcp://plc:\"\n      nodes: [{node_id: \"ns=1;s=a\", topic: t}]\n",
			[]string{`line 6: listeners[0].opcua.endpoint: "opc.tcp://plc:": "plc:" is not host:port`},
		},
		{
			"missing endpoint",
			head + "    opcua:\n      mode: client\n      nodes: [{node_id: \"ns=1;s=a\", topic: t}]\n",
			[]string{`line 5: listeners[0].opcua.endpoint: is required in client mode`},
		},
		{
			"bad node ids",
			head + "    opcua:\n      mode: client\n      endpoint: opc.tcp://plc:4840\n      nodes:\n        - node_id: \"ns=two;s=a\"\n          topic: t\n        - node_id: \"ns=1;i=x\"\n          topic: u\n        - topic: v\n",
			[]string{
				`line 8: listeners[0].opcua.nodes[0].node_id: "ns=two;s=a" is not an OPC UA node id`,
				`line 10: listeners[0].opcua.nodes[1].node_id: "ns=1;i=x" is not an OPC UA node id`,
				`line 12: listeners[0].opcua.nodes[2].node_id: is required`,
			},
		},
		{
			"bad topics",
			head + "    opcua:\n      mode: client\n      endpoint: opc.tcp://plc:4840\n      nodes:\n        - {node_id: \"ns=1;s=a\", topic: \"a/+\", result_topic: r}\n",
			[]string{
				`line 8: listeners[0].opcua.nodes[0].topic: "a/+" is not a valid MQTT topic name`,
				`line 8: listeners[0].opcua.nodes[0].result_topic: is set without command_topic`,
			},
		},
		{
			"address in client mode",
			head + "    address: \":4840\"\n    opcua:\n      mode: client\n      endpoint: opc.tcp://plc:4840\n      browse: [{root: \"i=85\", prefix: p}]\n",
			[]string{`line 4: listeners[0].address: is not used in client mode`},
		},
		{
			"secure policy without a certificate",
			head + "    opcua:\n      mode: client\n      endpoint: opc.tcp://plc:4840\n      security_policy: Basic256Sha256\n      security_mode: Encrypt\n      browse: [{root: \"i=85\", prefix: p}]\n",
			[]string{
				`line 8: listeners[0].opcua.security_mode: unknown security mode "Encrypt"`,
				`line 7: listeners[0].opcua.security_policy: Basic256Sha256 needs certificate and private_key`,
			},
		},
		{
			"opcua block on a tcp listener",
			"listeners:\n  - type: tcp\n    address: \":1\"\n    opcua: {mode: server}\n",
			[]string{`line 4: listeners[0].opcua: is set but the listener's type is "tcp"`},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("tern.yaml", []byte(tt.file), nil)
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}
