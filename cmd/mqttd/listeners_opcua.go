package main

import (
	"log/slog"

	"github.com/ternmq/broker/cmd/mqttd/internal/config"
	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/listeners/opcua"
)

// openOPCUA builds a listener of type opcua: server mode listens on
// c.Address, client mode connects to its endpoint once the broker starts.
func openOPCUA(c config.Listener, logger *slog.Logger) (listeners.Listener, error) {
	o := c.OPCUA
	id := opcua.Identity{ClientID: o.Identity.ClientID, Username: o.Identity.Username, Password: o.Identity.Password}
	log := logger.With("listener", c.Name)
	if o.Mode == "server" {
		cfg := opcua.ServerConfig{
			Identity:  id,
			Namespace: o.Namespace,
			RootName:  o.RootName,
			Hostname:  o.Hostname,
			MaxNodes:  o.MaxNodes,
			Logger:    log,
		}
		for _, e := range o.Expose {
			cfg.Expose = append(cfg.Expose, opcua.Expose{Filter: e.Filter, Encoding: opcua.Encoding(e.Encoding), Writable: e.Writable, QoS: e.QoS, Retain: e.Retain})
		}
		return opcua.NewServer(c.Name, c.Address, cfg)
	}
	cfg := opcua.ClientConfig{
		Endpoint:           o.Endpoint,
		SecurityPolicy:     o.SecurityPolicy,
		SecurityMode:       o.SecurityMode,
		Username:           o.Username,
		Password:           o.Password,
		CertificateFile:    o.Certificate,
		PrivateKeyFile:     o.PrivateKey,
		PublishingInterval: o.PublishingInterval,
		QueueSize:          o.QueueSize,
		Payload:            opcua.PayloadFormat(o.Payload),
		StateTopic:         o.StateTopic,
		Identity:           id,
		ReconnectMin:       o.ReconnectMin,
		ReconnectMax:       o.ReconnectMax,
		RequestTimeout:     o.RequestTimeout,
		Logger:             log,
	}
	for _, n := range o.Nodes {
		cfg.Nodes = append(cfg.Nodes, opcua.NodeMap{NodeID: n.NodeID, Topic: n.Topic, QoS: n.QoS, Retain: n.Retain, CommandTopic: n.CommandTopic, ResultTopic: n.ResultTopic})
	}
	for _, b := range o.Browse {
		cfg.Browse = append(cfg.Browse, opcua.BrowseMap{Root: b.Root, Prefix: b.Prefix, QoS: b.QoS, Retain: b.Retain, MaxDepth: b.MaxDepth})
	}
	return opcua.NewClient(c.Name, cfg)
}
