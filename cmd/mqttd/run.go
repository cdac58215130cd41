package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/cmd/mqttd/internal/config"
	"github.com/ternmq/broker/internal/gcfloor"
	"github.com/ternmq/broker/listeners"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/metrics/prometheus"
	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/storage/bolt"
	"github.com/ternmq/broker/storage/etcd"
	"github.com/ternmq/broker/storage/memory"
)

// run serves the broker that cfg describes until ctx is done, then shuts it
// down gracefully. Once every listener listens it logs one line saying
// where, how clients authenticate and where state is kept. It returns an
// error when the broker cannot start (a listener cannot listen, storage
// cannot open) or does not shut down cleanly.
//
// The shutdown follows the architecture document's six steps, through
// broker.Shutdown: stop accepting, let deliveries in flight be
// acknowledged (bounded by cfg.ShutdownTimeout), DISCONNECT every client
// (MQTT 5: 0x8B), persist session state, close storage; run then returns
// nil and mqttd exits 0.
func run(ctx context.Context, cfg *config.Config, logger *slog.Logger) error {
	if cfg.Limits.MemoryLimit > 0 {
		debug.SetMemoryLimit(cfg.Limits.MemoryLimit) // before New: the broker's budget derives from it
	}
	if cfg.Limits.GCFloor > 0 && os.Getenv("GOGC") == "" {
		fcfg := gcfloor.DefaultConfig()
		fcfg.Floor = uint64(cfg.Limits.GCFloor)
		fctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		defer stop()
		go gcfloor.Run(fctx, fcfg, 100)
	}
	for _, w := range cfg.Warnings {
		logger.Warn("configuration: " + w)
	}
	// Parts that can reload without dropping connections (password and
	// ACL files, JWT keys, TLS certificates) register with
	// reload.register as they are built; SIGHUP runs them once the broker
	// serves.
	var reload reloads
	authn, err := openAuth(cfg.Auth, logger) // see auth.go
	if err != nil {
		return err
	}
	defer authn.Close()
	if len(authn.reloaders) > 0 {
		reload.register("auth (password file, ACL file, JWT keys)", func() error { return reloadAuth(ctx, authn) })
	}
	store, err := openStorage(cfg.Storage)
	if err != nil {
		return err
	}
	lns, err := openListeners(cfg, logger)
	if err != nil {
		return errors.Join(err, store.Close())
	}
	opts := []broker.Option{
		broker.WithLogger(logger),
		broker.WithStorage(store),
		broker.WithLimits(brokerLimits(cfg.Limits)),
	}
	opts = append(opts, authn.options()...)
	node, err := openCluster(cfg, logger) // see cluster.go
	if err != nil {
		closeListeners(lns)
		return errors.Join(err, store.Close())
	}
	if node != nil {
		// The node publishes its previous instance's clients' wills
		// itself: the store is shared with the other nodes' clients.
		opts = append(opts, broker.WithHooks(node), broker.WithoutWillRestore())
	}
	addrs := make([]string, len(lns))
	for i, l := range lns {
		opts = append(opts, broker.WithListener(l))
		addrs[i] = l.Addr().String()
	}
	var ops *opsServer
	if cfg.Metrics.Enabled {
		m := prometheus.New()
		opts = append(opts, broker.WithMetrics(m))
		if ops, err = startOps(cfg.Metrics, m, logger); err != nil {
			closeListeners(lns)
			return errors.Join(err, store.Close())
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			_ = ops.close(cctx)
		}()
		logger.Info("metrics listening", "addr", ops.Addr(), "paths", "/metrics,/healthz,/readyz")
	}
	b, err := broker.New(opts...)
	if err != nil {
		closeListeners(lns)
		return errors.Join(err, store.Close())
	}
	authn.attach(b)
	if err := startCluster(ctx, node, b); err != nil {
		return errors.Join(err, b.Close())
	}
	// Start fails with ctx's error when a signal came before it: the
	// listeners serve all the same, and the shutdown below stops them.
	if err := b.Start(ctx); err != nil && ctx.Err() == nil {
		return errors.Join(err, b.Close())
	}
	reload.registerTLS(lns)
	stopReload := reload.onSIGHUP(logger)
	defer stopReload()
	if ops != nil {
		ops.serving(b.Ready)
	}
	logger.Info("tern listening",
		"addr", strings.Join(addrs, ","),
		"auth", authn.summary,
		"storage", cfg.Storage.Type,
		"config", cfg.Source)

	<-ctx.Done()
	if ops != nil {
		ops.stopping()
	}
	start := time.Now()
	logger.Info("tern shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	if err := b.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("tern stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

// openStorage opens the backend that s selects.
func openStorage(s config.Storage) (storage.Store, error) {
	switch s.Type {
	case "memory":
		return memory.New(), nil
	case "bolt":
		mode := map[string]bolt.SyncMode{"always": bolt.SyncAlways, "batch": bolt.SyncBatch, "none": bolt.SyncNone}
		if dir := filepath.Dir(s.Bolt.Path); dir != "" {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, fmt.Errorf("storage.bolt.path: %w", err)
			}
		}
		st, err := bolt.Open(s.Bolt.Path, bolt.WithSync(mode[s.Bolt.Sync]))
		if err != nil {
			return nil, fmt.Errorf("storage.bolt: %w", err)
		}
		return st, nil
	case "etcd":
		e := s.Etcd
		ctx, cancel := context.WithTimeout(context.Background(), e.DialTimeout)
		defer cancel()
		st, err := etcd.New(ctx, etcd.Config{Endpoints: e.Endpoints, DialTimeout: e.DialTimeout, Prefix: e.Prefix, Username: e.Username, Password: e.Password})
		if err != nil {
			return nil, fmt.Errorf("storage.etcd: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("storage.type %q: not built into this mqttd", s.Type)
}

// openListeners listens on every configured address; on failure it closes
// those already open.
func openListeners(cfg *config.Config, logger *slog.Logger) ([]listeners.Listener, error) {
	var open []listeners.Listener
	for _, c := range cfg.Listeners {
		var (
			l   listeners.Listener
			err error
		)
		switch c.Type {
		case "tcp":
			l, err = tcp.New(c.Name, c.Address, tcp.WithLogger(logger))
		case "http":
			l, err = openHTTP(c, logger)
		case "tls":
			l, err = openTLS(c, cfg.Limits, logger)
		case "websocket":
			l, err = openWebSocket(c, cfg.Limits, logger)
		case "unix":
			l, err = openUnix(c, logger)
		case "coap":
			l, err = openCoAP(c, logger)
		case "opcua":
			l, err = openOPCUA(c, logger)
		default:
			err = fmt.Errorf("type %q is not built into this mqttd", c.Type)
		}
		if err != nil {
			closeListeners(open)
			return nil, fmt.Errorf("listener %q: %w", c.Name, err)
		}
		open = append(open, l)
	}
	return open, nil
}

func closeListeners(ls []listeners.Listener) {
	for _, l := range ls {
		_ = l.Close()
	}
}

// brokerLimits converts the configured limits; the fields match one to one.
func brokerLimits(l config.Limits) broker.Limits {
	return broker.Limits{
		MaxConnections:        unlimited(l.MaxConnections),
		MaxPendingConnections: unlimited(l.MaxPending),
		MaxQueuedBytes:        unlimited(l.MaxQueuedBytes),
		MaxQueuedBytesTotal:   l.MaxQueuedBytesTotal, // 0: from the memory limit (run sets it first)
		MaxAliasBytes:         unlimited(l.MaxAliasBytes),
		MaxPacketSize:         l.MaxPacketSize,
		ReceiveMaximum:        l.ReceiveMaximum,
		MaxInflight:           l.MaxInflight,
		MaxQueuedMessages:     l.MaxQueuedMessages,
		ConnectTimeout:        l.ConnectTimeout,
		KeepAliveMax:          l.KeepAliveMax,
		MaxSessionExpiry:      l.MaxSessionExpiry,
		MaxMessageExpiry:      l.MaxMessageExpiry,
		TopicAliasMaximum:     l.TopicAliasMaximum,
		WriteTimeout:          l.WriteTimeout,
		ConnectRate:           l.ConnectRate,
		PublishRate:           l.PublishRate,
		MaxSubscriptions:      unlimited(l.MaxSubscriptions),
		StorageTimeout:        l.StorageTimeout,
	}
}

// unlimited maps the YAML's 0 ("no limit", as Mosquitto spells it) to the
// library's -1; the library reads 0 as "the default".
func unlimited(v int) int {
	if v == 0 {
		return -1
	}
	return v
}
