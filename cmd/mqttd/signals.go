package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// shutdownSignals returns a context that is cancelled at the first SIGINT
// or SIGTERM, which starts the graceful shutdown. A second one means the
// operator will not wait: force runs (mqttd exits at once). stop releases
// the signals.
func shutdownSignals(stderr io.Writer, force func()) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ch:
			cancel()
		case <-quit:
			return
		}
		select {
		case s := <-ch:
			fmt.Fprintf(stderr, "mqttd: second signal (%v): exiting without finishing the shutdown\n", s)
			force()
		case <-quit:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(quit)
		<-done
		cancel()
	}
}
