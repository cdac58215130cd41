package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// watchAuthReload re-reads the password file, the ACL file and the JWT
// keys on every SIGHUP, as Mosquitto does, until ctx is done or stop is
// called. Connections stay open; their next publish and delivery are
// decided by what was reloaded. A file that fails to load keeps its
// previous contents and the error is logged.
//
// It registers for SIGHUP itself: other parts of mqttd (TLS certificates)
// may register too, and every registered channel gets the signal.
func watchAuthReload(ctx context.Context, s *authSetup, log *slog.Logger) (stop func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-ch:
				reloadAuth(ctx, s, log)
			}
		}
	}()
	return func() {
		signal.Stop(ch)
		cancel()
		<-done
	}
}

// reloadAuth reloads once and logs the outcome.
func reloadAuth(ctx context.Context, s *authSetup, log *slog.Logger) {
	if len(s.reloaders) == 0 {
		log.Info("SIGHUP: no password file, ACL file or JWT keys to reload")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	start := time.Now()
	if err := s.Reload(ctx); err != nil {
		log.Error("SIGHUP: auth reload failed; what failed keeps its previous contents", "err", err)
		return
	}
	names := make([]string, len(s.reloaders))
	for i, r := range s.reloaders {
		names[i] = r.name
	}
	log.Info("SIGHUP: auth reloaded", "sources", names, "took", time.Since(start).Round(time.Millisecond).String())
}
