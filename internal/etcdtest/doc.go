// Package etcdtest starts a real etcd server inside the test process (the
// etcd server's own embed package, with short ticks and no fsync) for the
// tests of the etcd storage and of mqttd.
package etcdtest
