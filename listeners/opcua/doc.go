// Package opcua bridges MQTT and OPC UA, the protocol of PLCs, SCADA and
// MES systems, in both directions. It is built on github.com/gopcua/opcua.
//
// In server mode (NewServer) Tern serves an opc.tcp endpoint (security
// None, anonymous) whose namespace "urn:tern:mqtt" mirrors MQTT topics: a
// variable node per concrete topic under the configured filters, in a
// folder per topic level, NodeId ns=N;s=<topic>. A publish updates the
// node's value and source timestamp and fires data-change notifications;
// an OPC UA Write publishes to the topic.
//
// In client mode (NewClient) Tern connects to an external OPC UA server,
// monitors configured nodes and publishes every data change to a mapped
// topic; MQTT messages on a node's command topic are written back to the
// node. It reconnects with backoff and publishes its state ("up", "down")
// to a state topic.
//
// Both are listeners.Listener values registered with broker.WithListener:
// Serve receives the broker and acts through a broker.Client (NewClient),
// so the broker's authentication, authorization, retained messages, QoS
// and metrics apply to everything the bridge does. See README.md for the
// mapping tables and what is not supported.
//
// # Locks
//
// Server mode: gopcua's MonitoredItemService.Mu before topicSpace.mu (the
// notifier reads values while holding the former); topicSpace.mu is a
// leaf, never held while publishing or calling gopcua. Client mode:
// Client.mu guards the current connection and is never held during an
// OPC UA request or a publish.
//
// gopcua's server logs one line through the standard library's log
// package when it starts; everything else is logged with the configured
// *slog.Logger.
package opcua
