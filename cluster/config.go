package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Defaults for the zero fields of Config: the one table the library, the
// daemon and the documentation read.
const (
	// DefaultPrefix is the etcd key prefix of the cluster's own keys
	// (members and routes). It is under storage/etcd's DefaultPrefix but
	// does not collide with the store's keys.
	DefaultPrefix = "/tern/cluster/"
	// DefaultStoragePrefix is the prefix of the storage/etcd Store the
	// brokers share; the node watches its client claims there.
	DefaultStoragePrefix = "/tern/"
	// DefaultLeaseTTL is how long a node that stopped renewing its lease
	// (crashed, partitioned from etcd) stays a member with its routes.
	DefaultLeaseTTL = 10 * time.Second
	// DefaultForwardTimeout bounds how long a QoS 1 or 2 publish waits for
	// remote nodes to accept the message before it is refused.
	DefaultForwardTimeout = 5 * time.Second
	// DefaultEtcdTimeout bounds each etcd request of a subscription (route
	// commit): past it the subscription is refused rather than left hanging.
	DefaultEtcdTimeout = 3 * time.Second
	// DefaultSyncTimeout bounds how long a new route waits for the other
	// nodes to confirm they applied it before SUBACK.
	DefaultSyncTimeout = 2 * time.Second
	// DefaultLinkQueue is the number of frames waiting to be written on one
	// node link; past it QoS 0 messages are dropped and QoS 1/2 publishers wait.
	DefaultLinkQueue = 8192
	// DefaultWorkers is the number of goroutines per inbound link that
	// publish received messages; one publisher's messages always go to
	// the same one, in order.
	DefaultWorkers = 8
	// DefaultRouteGrace is how long a route without subscribers stays in
	// etcd before it is deleted, so that a client that resubscribes at once
	// costs no etcd write.
	DefaultRouteGrace = 2 * time.Second
	// DefaultStatsInterval is how often a node reports its counters to
	// etcd and sums every node's, for $SYS/broker/cluster/ (the broker's
	// default $SYS interval).
	DefaultStatsInterval = 10 * time.Second
)

// Config configures a Node. Zero fields take the defaults above.
type Config struct {
	// NodeID names this node in the cluster: unique, stable across
	// restarts, without '/'. Required.
	NodeID string
	// LinkAddress is the host:port the node listens on for links from
	// other nodes ("0.0.0.0:7946"; port 0 picks one).
	LinkAddress string
	// Advertise is the host:port other nodes dial to reach this node's link
	// listener; empty: the listener's address (fine when LinkAddress has a
	// routable host).
	Advertise string
	// LinkTLS, when set, makes node links TLS: it is used both to serve
	// (Certificates, ClientCAs with ClientAuth for mTLS) and to dial
	// (RootCAs, Certificates).
	LinkTLS *tls.Config

	// Client is an etcd client the caller owns; when nil, the node makes
	// one from Endpoints and the fields below, and closes it.
	Client      *clientv3.Client
	Endpoints   []string
	DialTimeout time.Duration
	Username    string
	Password    string
	TLS         *tls.Config // etcd client TLS

	// Prefix is the etcd prefix of members and routes (DefaultPrefix).
	Prefix string
	// StoragePrefix is the prefix of the brokers' storage/etcd Store
	// (DefaultStoragePrefix), where client claims are watched.
	StoragePrefix string
	// LeaseTTL is the TTL of the node's lease (DefaultLeaseTTL); rounded
	// up to whole seconds.
	LeaseTTL       time.Duration
	ForwardTimeout time.Duration // DefaultForwardTimeout
	EtcdTimeout    time.Duration // DefaultEtcdTimeout
	SyncTimeout    time.Duration // DefaultSyncTimeout
	LinkQueue      int           // DefaultLinkQueue
	Workers        int           // DefaultWorkers
	RouteGrace     time.Duration // DefaultRouteGrace
	// StatsInterval is how often the node reports its counters and sums
	// every node's for $SYS/broker/cluster/ (DefaultStatsInterval); a
	// negative value turns the cluster-wide counts off.
	StatsInterval time.Duration
	// Version is what the node registers as its software version
	// (default broker.Version).
	Version string

	// Logger receives the node's logs (default slog.Default()).
	Logger *slog.Logger
}

// withDefaults returns cfg with zero fields set, or an error naming the
// field that is wrong.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.NodeID == "" {
		return cfg, errors.New("cluster: NodeID is required")
	}
	if strings.ContainsAny(cfg.NodeID, "/\x00") {
		return cfg, fmt.Errorf("cluster: NodeID %q contains '/' or NUL", cfg.NodeID)
	}
	if cfg.LinkAddress == "" {
		return cfg, errors.New("cluster: LinkAddress is required")
	}
	if cfg.Client == nil && len(cfg.Endpoints) == 0 {
		return cfg, errors.New("cluster: Endpoints (or Client) is required")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.StoragePrefix == "" {
		cfg.StoragePrefix = DefaultStoragePrefix
	}
	if !strings.HasSuffix(cfg.StoragePrefix, "/") {
		cfg.StoragePrefix += "/"
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.DialTimeout, 5*time.Second)
	def(&cfg.LeaseTTL, DefaultLeaseTTL)
	def(&cfg.ForwardTimeout, DefaultForwardTimeout)
	def(&cfg.EtcdTimeout, DefaultEtcdTimeout)
	def(&cfg.SyncTimeout, DefaultSyncTimeout)
	def(&cfg.RouteGrace, DefaultRouteGrace)
	if cfg.StatsInterval == 0 {
		cfg.StatsInterval = DefaultStatsInterval
	}
	if cfg.LinkQueue <= 0 {
		cfg.LinkQueue = DefaultLinkQueue
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return cfg, nil
}
