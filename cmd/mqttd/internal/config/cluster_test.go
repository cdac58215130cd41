package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const clusterHead = `listeners: [{type: tcp, address: ":1883"}]
storage: {type: etcd, etcd: {endpoints: ["http://10.0.0.5:2379"], username: u, password: p}}
`

func TestParseCluster(t *testing.T) {
	tests := []struct {
		name string
		file string
		want *Cluster
	}{
		{"absent", clusterHead, nil},
		{
			"etcd from storage",
			clusterHead + "cluster:\n  enabled: true\n  node_id: a\n  link_address: \"10.0.0.1:7946\"\n",
			&Cluster{Enabled: true, NodeID: "a", LinkAddress: "10.0.0.1:7946", Etcd: &Etcd{
				Endpoints: []string{"http://10.0.0.5:2379"}, Username: "u", Password: "p",
				DialTimeout: 5 * time.Second, Prefix: "/tern/cluster/",
			}},
		},
		{
			"every key",
			clusterHead + `cluster:
  enabled: true
  node_id: b
  link_address: "0.0.0.0:7946"
  advertise: "10.0.0.2:7946"
  lease_ttl: 4s
  forward_timeout: 2s
  stats_interval: 30s
  link_tls: {cert: n.pem, key: n.key, client_ca: ca.pem}
  etcd: {endpoints: ["http://10.0.0.9:2379"], prefix: /c/, dial_timeout: 1s}
`,
			&Cluster{Enabled: true, NodeID: "b", LinkAddress: "0.0.0.0:7946", Advertise: "10.0.0.2:7946",
				LeaseTTL: 4 * time.Second, ForwardTimeout: 2 * time.Second, StatsInterval: 30 * time.Second,
				LinkTLS: &TLS{Cert: "n.pem", Key: "n.key", ClientCA: "ca.pem"},
				Etcd:    &Etcd{Endpoints: []string{"http://10.0.0.9:2379"}, Prefix: "/c/", DialTimeout: time.Second}},
		},
		{
			"cluster-wide $SYS sums off",
			clusterHead + "cluster:\n  enabled: true\n  node_id: a\n  link_address: \"10.0.0.1:7946\"\n  stats_interval: -1s\n",
			&Cluster{Enabled: true, NodeID: "a", LinkAddress: "10.0.0.1:7946", StatsInterval: -time.Second, Etcd: &Etcd{
				Endpoints: []string{"http://10.0.0.5:2379"}, Username: "u", Password: "p",
				DialTimeout: 5 * time.Second, Prefix: "/tern/cluster/",
			}},
		},
		{"disabled: not checked", clusterHead + "cluster: {enabled: false}\n", &Cluster{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("tern.yaml", []byte(tt.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, c.Cluster); diff != "" {
				t.Errorf("cluster (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseClusterErrors(t *testing.T) {
	const on = "cluster:\n  enabled: true\n"
	tests := []struct {
		name string
		file string
		want string
	}{
		{"memory storage", "listeners: [{type: tcp, address: \":1\"}]\nstorage: {type: memory}\n" + on + "  node_id: a\n  link_address: \"10.0.0.1:1\"\n",
			"line 4: cluster.enabled: needs storage.type etcd"},
		{"no node id", clusterHead + on + "  link_address: \"10.0.0.1:1\"\n", "line 3: cluster.node_id: is required"},
		{"slash in node id", clusterHead + on + "  node_id: a/b\n  link_address: \"10.0.0.1:1\"\n", `line 5: cluster.node_id: "a/b" contains '/'`},
		{"no link address", clusterHead + on + "  node_id: a\n", "line 3: cluster.link_address: is required"},
		{"bad link address", clusterHead + on + "  node_id: a\n  link_address: nowhere\n", "line 6: cluster.link_address: address nowhere: missing port"},
		{"unspecified without advertise", clusterHead + on + "  node_id: a\n  link_address: \":7946\"\n",
			"line 6: cluster.advertise: is required when link_address has no routable host"},
		{"unspecified advertise", clusterHead + on + "  node_id: a\n  link_address: \":7946\"\n  advertise: \"0.0.0.0:7946\"\n",
			`line 7: cluster.advertise: "0.0.0.0:7946" is not an address`},
		{"short lease", clusterHead + on + "  node_id: a\n  link_address: \"10.0.0.1:1\"\n  lease_ttl: 500ms\n", "line 7: cluster.lease_ttl: must be at least 1s"},
		{"link tls without ca", clusterHead + on + "  node_id: a\n  link_address: \"10.0.0.1:1\"\n  link_tls: {cert: c, key: k}\n",
			"line 7: cluster.link_tls: needs cert, key and client_ca"},
		{"unknown key", clusterHead + on + "  node: a\n", `line 5: unknown key "node" in cluster`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("tern.yaml", []byte(tt.file), nil)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error\n%v\ndoes not contain\n%s", err, tt.want)
			}
		})
	}
}
