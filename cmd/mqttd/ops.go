package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ternmq/broker/cmd/mqttd/internal/config"
	"github.com/ternmq/broker/metrics/prometheus"
)

// opsServer is mqttd's operations endpoint (metrics.address): /metrics for
// Prometheus, /healthz (the process is up and serving HTTP) and /readyz
// (the broker is started and not shutting down, every listener is
// accepting, storage answers a read).
type opsServer struct {
	srv     *http.Server
	ln      net.Listener
	metrics *prometheus.Metrics
	ready   atomic.Pointer[func(context.Context) error] // the broker's Ready, once it serves
	state   atomic.Int32                                // opsStarting, opsServing or opsStopping
	done    chan struct{}
}

const (
	opsStarting int32 = iota
	opsServing
	opsStopping
)

// readyTimeout bounds the storage round trip of one /readyz.
const readyTimeout = 2 * time.Second

// startOps listens on cfg.Address and serves in the background.
func startOps(cfg config.Metrics, m *prometheus.Metrics, logger *slog.Logger) (*opsServer, error) {
	ln, err := net.Listen("tcp", cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("metrics.address: %w", err)
	}
	o := &opsServer{ln: ln, metrics: m, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", o.readyz)
	o.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	go func() {
		defer close(o.done)
		if err := o.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server stopped", "err", err)
		}
	}()
	return o, nil
}

// Addr is the address the endpoint listens on.
func (o *opsServer) Addr() string { return o.ln.Addr().String() }

// serving makes /readyz ask ready (the broker's Ready); stopping makes it
// answer "shutting down".
func (o *opsServer) serving(ready func(context.Context) error) {
	o.ready.Store(&ready)
	o.state.Store(opsServing)
}
func (o *opsServer) stopping() { o.state.Store(opsStopping) }

// close stops the HTTP server, letting requests in progress finish within
// ctx.
func (o *opsServer) close(ctx context.Context) error {
	err := o.srv.Shutdown(ctx)
	<-o.done
	return err
}

func (o *opsServer) readyz(w http.ResponseWriter, r *http.Request) {
	problems := o.check(r.Context())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, strings.Join(problems, "\n"))
		return
	}
	fmt.Fprintln(w, "ready")
}

// check returns what keeps the broker from being ready, nothing if it is.
func (o *opsServer) check(ctx context.Context) []string {
	switch o.state.Load() {
	case opsStarting:
		return []string{"starting"}
	case opsStopping:
		return []string{"shutting down"}
	}
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := (*o.ready.Load())(ctx); err != nil {
		return strings.Split(err.Error(), "\n") // broker.Ready joins one line per problem
	}
	return nil
}
