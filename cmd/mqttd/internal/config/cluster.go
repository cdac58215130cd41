package config

import (
	"net"
	"strings"
	"time"
)

// Cluster makes mqttd a node of a Tern cluster (package cluster): nodes
// on one etcd that act as one broker. It needs storage.type etcd, shared
// by every node:
//
//	storage: {type: etcd, etcd: {endpoints: ["http://10.0.0.5:2379"]}}
//	cluster:
//	  enabled: true
//	  node_id: a
//	  link_address: "0.0.0.0:7946"
//	  advertise: "10.0.0.1:7946"
//
// A key left out (or 0) takes package cluster's default.
type Cluster struct {
	Enabled bool `yaml:"enabled"`
	// NodeID names the node: unique in the cluster, stable across
	// restarts, no '/'.
	NodeID string `yaml:"node_id"`
	// LinkAddress is where the node listens for links from other nodes.
	LinkAddress string `yaml:"link_address"`
	// Advertise is the host:port other nodes dial; default: link_address
	// (which then needs a routable host).
	Advertise string `yaml:"advertise"`
	// LinkTLS makes node links mutual TLS: cert and key are this node's,
	// client_ca verifies the other nodes' certificates (and the servers'
	// when dialing).
	LinkTLS *TLS `yaml:"link_tls"`
	// LeaseTTL is how long a node that stopped renewing its lease stays a
	// member (default 10s).
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// ForwardTimeout bounds the wait of a QoS 1/2 publish for the other
	// nodes (default 5s).
	ForwardTimeout time.Duration `yaml:"forward_timeout"`
	// StatsInterval is how often the node puts its broker's counters in
	// etcd and sums every node's for the $SYS/broker/cluster/ topics
	// (default 10s: cluster.DefaultStatsInterval); a negative duration,
	// e.g. -1s, turns those sums off.
	StatsInterval time.Duration `yaml:"stats_interval"`
	// Etcd is where members and routes are kept; default: storage.etcd's
	// endpoints and credentials, with prefix <storage prefix>cluster/.
	Etcd *Etcd `yaml:"etcd"`
}

// cluster checks the cluster block and fills its etcd settings from
// storage.etcd.
func (d *decoder) cluster(c *Config) {
	cl := c.Cluster
	if cl == nil || !cl.Enabled {
		return
	}
	if c.Storage.Type != "etcd" || c.Storage.Etcd == nil {
		d.invalidNear("cluster.enabled", "cluster", "needs storage.type etcd: the nodes share their sessions and retained messages there")
		return
	}
	if cl.NodeID == "" {
		d.invalidNear("cluster.node_id", "cluster", "is required when the cluster is enabled")
	} else if strings.ContainsAny(cl.NodeID, "/\x00") {
		d.invalid("cluster.node_id", "%q contains '/'", cl.NodeID)
	}
	if cl.LinkAddress == "" {
		d.invalidNear("cluster.link_address", "cluster", "is required when the cluster is enabled, e.g. \"0.0.0.0:7946\"")
	} else if _, _, err := net.SplitHostPort(cl.LinkAddress); err != nil {
		d.invalid("cluster.link_address", "%v", err)
	}
	if cl.Advertise != "" {
		if host, _, err := net.SplitHostPort(cl.Advertise); err != nil {
			d.invalid("cluster.advertise", "%v", err)
		} else if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			d.invalid("cluster.advertise", "%q is not an address other nodes can dial", cl.Advertise)
		}
	} else if host, _, err := net.SplitHostPort(cl.LinkAddress); err == nil {
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			d.invalidNear("cluster.advertise", "cluster.link_address", "is required when link_address has no routable host")
		}
	}
	if cl.LinkTLS != nil && (cl.LinkTLS.Cert == "" || cl.LinkTLS.Key == "" || cl.LinkTLS.ClientCA == "") {
		d.invalid("cluster.link_tls", "needs cert, key and client_ca (node links are mutual TLS)")
	}
	if cl.LeaseTTL < 0 || cl.LeaseTTL > 0 && cl.LeaseTTL < time.Second {
		d.invalid("cluster.lease_ttl", "must be at least 1s")
	}
	if cl.ForwardTimeout < 0 {
		d.invalid("cluster.forward_timeout", "must be positive, e.g. 5s")
	}
	st := c.Storage.Etcd
	if cl.Etcd == nil {
		cl.Etcd = &Etcd{}
	}
	e := cl.Etcd
	if len(e.Endpoints) == 0 {
		e.Endpoints = st.Endpoints
		if e.Username == "" {
			e.Username, e.Password = st.Username, st.Password
		}
	}
	if e.DialTimeout == 0 {
		e.DialTimeout = st.DialTimeout
	}
	if e.DialTimeout < 0 {
		d.invalid("cluster.etcd.dial_timeout", "must be positive, e.g. 5s")
	}
	if e.Prefix == "" {
		e.Prefix = strings.TrimSuffix(st.Prefix, "/") + "/cluster/"
	}
}
