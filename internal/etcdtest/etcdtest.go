package etcdtest

import (
	"errors"
	"net/url"
	"os"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// readyTimeout bounds the wait for a started server to become ready.
const readyTimeout = 30 * time.Second

// StartServer starts an embedded etcd on random loopback ports, with its
// data in a fresh temporary directory, and returns its client URL and a
// function that stops it and removes the directory. It suits a TestMain
// that shares one server among all the tests of a package.
func StartServer() (endpoint string, stop func(), err error) {
	dir, err := os.MkdirTemp("", "tern-etcd-test-")
	if err != nil {
		return "", nil, err
	}
	endpoint, closeEtcd, err := start(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	return endpoint, func() { closeEtcd(); _ = os.RemoveAll(dir) }, nil
}

// Start starts an embedded etcd for one test, stopped when the test ends,
// and returns its client URL.
func Start(t testing.TB) (endpoint string) {
	t.Helper()
	endpoint, closeEtcd, err := start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeEtcd)
	return endpoint
}

// start runs an embedded etcd with its data in dir and waits until it is
// ready.
func start(dir string) (endpoint string, stop func(), err error) {
	cfg := embed.NewConfig()
	cfg.Dir = dir
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.UnsafeNoFsync = true
	cfg.TickMs, cfg.ElectionMs = 10, 100
	u, _ := url.Parse("http://127.0.0.1:0")
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*u}, []url.URL{*u}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*u}, []url.URL{*u}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return "", nil, err
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(readyTimeout):
		e.Close()
		return "", nil, errors.New("etcdtest: embedded etcd not ready after " + readyTimeout.String())
	}
	return "http://" + e.Clients[0].Addr().String(), e.Close, nil
}
