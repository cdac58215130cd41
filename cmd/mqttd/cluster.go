package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/cluster"
	"github.com/ternmq/broker/cmd/mqttd/internal/config"
)

// openCluster makes the cluster node cfg.Cluster describes, nil when the
// cluster is not enabled. Its hooks go to broker.New; startCluster joins
// once the broker exists.
func openCluster(cfg *config.Config, logger *slog.Logger) (*cluster.Node, error) {
	cl := cfg.Cluster
	if cl == nil || !cl.Enabled {
		return nil, nil
	}
	var linkTLS *tls.Config
	if cl.LinkTLS != nil {
		f := cl.LinkTLS.Files()
		f.ClientAuth = tls.RequireAndVerifyClientCert
		c, err := f.Load()
		if err != nil {
			return nil, fmt.Errorf("cluster.link_tls: %w", err)
		}
		c.RootCAs = c.ClientCAs // nodes verify each other with the same CA
		linkTLS = c
	}
	e := cl.Etcd
	n, err := cluster.New(cluster.Config{
		NodeID:         cl.NodeID,
		LinkAddress:    cl.LinkAddress,
		Advertise:      cl.Advertise,
		LinkTLS:        linkTLS,
		Endpoints:      e.Endpoints,
		DialTimeout:    e.DialTimeout,
		Username:       e.Username,
		Password:       e.Password,
		Prefix:         e.Prefix,
		StoragePrefix:  cfg.Storage.Etcd.Prefix,
		LeaseTTL:       cl.LeaseTTL,
		ForwardTimeout: cl.ForwardTimeout,
		StatsInterval:  cl.StatsInterval,
		Logger:         logger,
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return n, nil
}

// startCluster joins the cluster as b, before b starts serving; a nil node
// is no cluster.
func startCluster(ctx context.Context, n *cluster.Node, b *broker.Broker) error {
	if n == nil {
		return nil
	}
	return n.Start(ctx, b)
}
