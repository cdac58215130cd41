package config

import (
	"errors"
	"net"
)

// Metrics configures mqttd's operations endpoint: one HTTP server with
// /metrics (Prometheus), /healthz (the process is up) and /readyz (the
// listeners accept and storage answers).
type Metrics struct {
	Enabled bool   `yaml:"enabled"`
	Address string `yaml:"address"` // host:port, e.g. 127.0.0.1:9090 or :9090
}

func (d *decoder) metrics(m *Metrics) {
	if !m.Enabled {
		return
	}
	if m.Address == "" {
		d.invalidNear("metrics.address", "metrics.enabled", "is required when metrics are enabled (host:port, e.g. :9090)")
		return
	}
	if _, _, err := net.SplitHostPort(m.Address); err != nil {
		var ae *net.AddrError
		if errors.As(err, &ae) {
			err = errors.New(ae.Err)
		}
		d.invalid("metrics.address", "%q is not host:port: %v", m.Address, err)
	}
}
