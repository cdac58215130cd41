package main

import (
	"errors"
	"fmt"
	"github.com/ternmq/broker/listeners"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// reloads is what SIGHUP reloads: password and ACL files, JWT keys, TLS
// certificates. Each part registers a function that reloads its state
// without dropping connections; on failure it must keep serving with the
// state it had (a bad certificate or a half-written password file does not
// lock everyone out), and return the error, which is logged.
type reloads struct {
	mu    sync.Mutex
	hooks []reloadHook
}

type reloadHook struct {
	name string
	fn   func() error
}

// register adds fn, named name in logs, to what SIGHUP reloads.
func (r *reloads) register(name string, fn func() error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hooks = append(r.hooks, reloadHook{name, fn})
}

// reload calls every registered function in registration order, each
// even if an earlier one failed, and returns their errors joined.
func (r *reloads) reload(logger *slog.Logger) error {
	r.mu.Lock()
	hooks := append([]reloadHook(nil), r.hooks...)
	r.mu.Unlock()
	var errs []error
	for _, h := range hooks {
		if err := h.fn(); err != nil {
			logger.Error("reload failed, keeping the previous state", "part", h.name, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", h.name, err))
			continue
		}
		logger.Info("reloaded", "part", h.name)
	}
	return errors.Join(errs...)
}

// onSIGHUP reloads at every SIGHUP until stop is called; stop returns
// once no reload runs.
func (r *reloads) onSIGHUP(logger *slog.Logger) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ch:
				r.mu.Lock()
				n := len(r.hooks)
				r.mu.Unlock()
				logger.Info("SIGHUP: reloading", "parts", n)
				_ = r.reload(logger)
			case <-quit:
				return
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		close(quit)
		<-done
	}
}

// tlsReloader is a listener whose TLS files can be re-read (tls listeners,
// and websocket listeners serving wss).
type tlsReloader interface {
	listeners.Listener
	Reload() error
}

// registerTLS registers the certificate reload of every listener that has
// one: new handshakes use the new files, live connections are not touched,
// and a listener whose files fail to load keeps the ones it had.
func (r *reloads) registerTLS(lns []listeners.Listener) {
	for _, l := range lns {
		if t, ok := l.(tlsReloader); ok {
			r.register("tls certificates of "+l.Name(), t.Reload)
		}
	}
}
