package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"slices"
	"strings"
	"time"
)

// listenerTypes are the accepted values of listeners[].type.
var listenerTypes = []string{"tcp", "tls", "websocket", "unix", "http", "coap", "opcua"}

// storageTypes are the accepted values of storage.type.
var storageTypes = []string{"memory", "bolt", "etcd"}

// boltSyncModes are the accepted values of storage.bolt.sync.
var boltSyncModes = []string{"always", "batch", "none"}

// maxPacketSize is the largest MQTT packet: a remaining length of
// 268435455 plus a fixed header of at most 5 bytes.
const maxPacketSize = 268435455 + 5

// validate checks the values of c once decoded, fills in defaults that
// depend on other values (listener names) and normalises case. Errors carry
// the line of the offending key when this document set it.
func (d *decoder) validate(c *Config) error {
	d.listeners(c.Listeners)
	d.limits(&c.Limits)
	d.httpListeners(c) // after limits: max_body_size defaults to max_packet_size
	d.storage(&c.Storage)
	d.auth(&c.Auth)
	d.log(&c.Log)
	d.metrics(&c.Metrics)
	if c.ShutdownTimeout <= 0 {
		d.invalid("shutdown_timeout", "must be positive, e.g. 10s")
	}
	d.cluster(c) // after storage: it defaults to storage.etcd
	return d.err()
}

// invalid reports that the value at path is wrong.
func (d *decoder) invalid(path, format string, args ...any) {
	d.invalidNear(path, path, format, args...)
}

// invalidNear reports that the value at path is wrong, or missing, because
// of the value at near: the error points at path if this document set it,
// else at near.
func (d *decoder) invalidNear(path, near, format string, args ...any) {
	d.errorf(d.lineNear(path, near), "%s: %s", d.written(path), fmt.Sprintf(format, args...))
}

// warn records a problem that does not stop the daemon, at path.
func (d *decoder) warn(path, format string, args ...any) {
	w := &Error{File: d.file, Line: d.line(path), Msg: d.written(path) + ": " + fmt.Sprintf(format, args...)}
	d.warnings = append(d.warnings, w.Error())
}

func (d *decoder) lineNear(path, near string) int {
	if line := d.lines[d.written(path)]; line != 0 {
		return line
	}
	return d.line(near)
}

// line returns the line where path, or the nearest enclosing key, was set
// in this document; 0 if none was.
func (d *decoder) line(path string) int {
	for p := d.written(path); p != ""; {
		if l, ok := d.lines[p]; ok {
			return l
		}
		i := strings.LastIndexAny(p, ".[")
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

func (d *decoder) listeners(ls []Listener) {
	if len(ls) == 0 {
		d.invalid("listeners", "at least one listener is needed")
	}
	names := make(map[string]int)
	for i := range ls {
		l := &ls[i]
		p := fmt.Sprintf("listeners[%d]", i)
		l.Type = strings.ToLower(l.Type)
		switch {
		case l.Type == "":
			d.invalid(p+".type", "is required (one of: %s)", strings.Join(listenerTypes, ", "))
		case !slices.Contains(listenerTypes, l.Type):
			d.invalid(p+".type", "unknown listener type %q (one of: %s)", l.Type, strings.Join(listenerTypes, ", "))
		}
		d.opcua(p, l)
		if l.Type == "unix" {
			if l.Address != "" {
				d.invalid(p+".address", "is not used by a unix listener: its socket file is path")
			}
		} else if l.Address == "" {
			if !opcuaAddressOptional(l) {
				d.invalid(p+".address", "is required (host:port, e.g. 127.0.0.1:1883)")
			}
		} else if _, _, err := net.SplitHostPort(l.Address); err != nil {
			var ae *net.AddrError
			if errors.As(err, &ae) {
				err = errors.New(ae.Err)
			}
			d.invalid(p+".address", "%q is not host:port: %v", l.Address, err)
		}
		d.coapListener(p, l)
		if l.Name == "" {
			l.Name = l.Type
		}
		if j, dup := names[l.Name]; dup {
			d.invalid(p+".name", "%q is also the name of %s: give each listener a name of its own", l.Name, d.written(fmt.Sprintf("listeners[%d]", j)))
		}
		names[l.Name] = i
		d.tlsKeys(p, l)
		d.websocketKeys(p, l)
		d.unixKeys(p, l)
	}
	d.sharedAddresses(ls)
}

func (d *decoder) limits(l *Limits) {
	ints := []struct {
		key      string
		v        int64
		min, max int64
	}{
		{"max_connections", int64(l.MaxConnections), 0, math.MaxInt64},
		{"max_pending_connections", int64(l.MaxPending), 0, math.MaxInt64},
		{"max_queued_bytes", int64(l.MaxQueuedBytes), 0, math.MaxInt64},
		{"max_alias_bytes", int64(l.MaxAliasBytes), 0, math.MaxInt64},
		{"memory_limit", l.MemoryLimit, 0, math.MaxInt64},
		{"gc_floor", l.GCFloor, 0, math.MaxInt64},
		{"max_queued_bytes_total", int64(l.MaxQueuedBytesTotal), 0, math.MaxInt64},
		{"max_packet_size", int64(l.MaxPacketSize), 1, maxPacketSize},
		{"receive_maximum", int64(l.ReceiveMaximum), 1, math.MaxUint16},
		{"max_inflight", int64(l.MaxInflight), 1, math.MaxUint16}, // packet identifiers are 16-bit
		{"max_queued_messages", int64(l.MaxQueuedMessages), 1, math.MaxInt64},
		{"keep_alive_max", int64(l.KeepAliveMax), 1, math.MaxUint16},
		{"max_session_expiry", int64(l.MaxSessionExpiry), 1, math.MaxUint32},
		{"max_message_expiry", int64(l.MaxMessageExpiry), 0, math.MaxUint32},
		{"topic_alias_maximum", int64(l.TopicAliasMaximum), 1, math.MaxUint16},
		{"connect_rate", int64(l.ConnectRate), 0, math.MaxInt32},
		{"publish_rate", int64(l.PublishRate), 0, math.MaxInt32},
		{"max_subscriptions", int64(l.MaxSubscriptions), 0, math.MaxInt32},
	}
	for _, c := range ints {
		switch {
		case c.v < c.min && c.min == 1:
			// broker.Limits reads 0 as "the default": refuse it rather
			// than let "0" silently mean something else.
			d.invalid("limits."+c.key, "must be at least 1 (the broker reads 0 as \"use the default\")")
		case c.v < c.min:
			d.invalid("limits."+c.key, "must be at least %d", c.min)
		case c.v > c.max:
			d.invalid("limits."+c.key, "%d is more than %d, the most allowed", c.v, c.max)
		}
	}
	if l.ConnectTimeout <= 0 {
		d.invalid("limits.connect_timeout", "must be positive, e.g. 10s")
	}
	if l.StorageTimeout <= 0 {
		d.invalid("limits.storage_timeout", "must be positive, e.g. 5s")
	}
	if l.WriteTimeout <= 0 {
		d.invalid("limits.write_timeout", "must be positive, e.g. 30s")
	}
	d.idleTimeout(l)
}

// idleTimeout applies limits.idle_timeout, the architecture document's
// name, as the keep alive cap it amounts to in MQTT.
func (d *decoder) idleTimeout(l *Limits) {
	if l.IdleTimeout == 0 {
		return
	}
	if _, both := d.lines[d.written("limits.keep_alive_max")]; both {
		d.invalid("limits.idle_timeout", "%s is set too: write one of them (idle_timeout sets keep_alive_max)", d.written("limits.keep_alive_max"))
		return
	}
	secs := int64((l.IdleTimeout + time.Second - 1) / time.Second)
	if l.IdleTimeout < 0 || secs > math.MaxUint16 {
		d.invalid("limits.idle_timeout", "must be between 1s and 65535s (it caps the keep alive, in seconds)")
		return
	}
	l.KeepAliveMax = uint16(secs)
}

func (d *decoder) storage(s *Storage) {
	s.Type = strings.ToLower(s.Type)
	switch s.Type {
	case "":
		d.invalid("storage.type", "is required (one of: %s)", strings.Join(storageTypes, ", "))
	case "bolt":
		if s.Bolt == nil || s.Bolt.Path == "" {
			d.invalidNear("storage.bolt.path", "storage.type", "is required when %s is bolt", d.written("storage.type"))
		}
		if s.Bolt != nil {
			s.Bolt.Sync = strings.ToLower(s.Bolt.Sync)
			if s.Bolt.Sync == "" {
				s.Bolt.Sync = "always"
			}
			if !slices.Contains(boltSyncModes, s.Bolt.Sync) {
				d.invalid("storage.bolt.sync", "unknown sync mode %q (one of: %s)", s.Bolt.Sync, strings.Join(boltSyncModes, ", "))
			}
		}
	case "etcd":
		if s.Etcd == nil || len(s.Etcd.Endpoints) == 0 {
			d.invalidNear("storage.etcd.endpoints", "storage.type", "is required when %s is etcd", d.written("storage.type"))
		}
		if s.Etcd != nil {
			if s.Etcd.DialTimeout == 0 {
				s.Etcd.DialTimeout = 5 * time.Second
			}
			if s.Etcd.DialTimeout < 0 {
				d.invalid("storage.etcd.dial_timeout", "must be positive, e.g. 5s")
			}
			if s.Etcd.Prefix == "" {
				s.Etcd.Prefix = "/tern/"
			}
		}
	default:
		if !slices.Contains(storageTypes, s.Type) {
			d.invalid("storage.type", "unknown storage type %q (one of: %s)", s.Type, strings.Join(storageTypes, ", "))
		}
	}
	// A block for another backend is kept for switching types later (the
	// architecture document's example has an etcd block under type
	// memory): it is ignored, with a warning.
	if s.Bolt != nil && s.Type != "bolt" {
		d.warn("storage.bolt", "ignored: %s is %q", d.written("storage.type"), s.Type)
	}
	if s.Etcd != nil && s.Type != "etcd" {
		d.warn("storage.etcd", "ignored: %s is %q", d.written("storage.type"), s.Type)
	}
}

func (d *decoder) log(l *Log) {
	l.Level = strings.ToLower(l.Level)
	if _, ok := logLevels[l.Level]; !ok {
		d.invalid("log.level", "unknown level %q (one of: debug, info, warn, error)", l.Level)
	}
	l.Format = strings.ToLower(l.Format)
	if l.Format != "text" && l.Format != "json" {
		d.invalid("log.format", "unknown format %q (one of: text, json)", l.Format)
	}
}
