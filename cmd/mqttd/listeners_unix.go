package main

import (
	"log/slog"

	"github.com/ternmq/broker/cmd/mqttd/internal/config"
	"github.com/ternmq/broker/listeners/unix"
)

// openUnix opens a unix listener on its socket file, with the configured
// permissions.
func openUnix(c config.Listener, logger *slog.Logger) (*unix.Listener, error) {
	opts := []unix.Option{unix.WithLogger(logger)}
	if mode, err := c.FileMode(); err == nil && mode != 0 {
		opts = append(opts, unix.WithMode(mode))
	}
	return unix.New(c.Name, c.Path, opts...)
}
