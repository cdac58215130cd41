package main

import (
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/ternmq/broker/listeners"
)

// reloader is a listener whose TLS files can be re-read (tls listeners,
// and websocket listeners serving wss).
type reloader interface {
	listeners.Listener
	Reload() error
}

// reloadOnSIGHUP re-reads the TLS certificates, keys and client CAs of lns
// on each SIGHUP: new handshakes use them, live connections are not
// touched. A listener whose files fail to load keeps the ones it had, and
// the error is logged. The returned function stops listening for SIGHUP.
func reloadOnSIGHUP(logger *slog.Logger, lns []listeners.Listener) (stop func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGHUP)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-sig:
				reloadTLS(logger, lns)
			case <-done:
				return
			}
		}
	})
	return func() {
		signal.Stop(sig)
		close(done)
		wg.Wait()
	}
}

// reloadTLS reloads every listener that can, logging the outcome of each.
func reloadTLS(logger *slog.Logger, lns []listeners.Listener) {
	n := 0
	for _, l := range lns {
		r, ok := l.(reloader)
		if !ok {
			continue
		}
		n++
		if err := r.Reload(); err != nil {
			logger.Error("tls reload failed; the previous certificate stays in use", "listener", l.Name(), "err", err)
			continue
		}
		logger.Info("tls certificates reloaded", "listener", l.Name())
	}
	if n == 0 {
		logger.Info("SIGHUP: no listener has certificates to reload")
	}
}
