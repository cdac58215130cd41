package config

import (
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"
)

// DefaultYAML is the embedded default configuration.
//
//go:embed default.yaml
var DefaultYAML []byte

// DefaultSource is the Source of a configuration made only of DefaultYAML.
const DefaultSource = "default"

// Config is the whole configuration of mqttd.
//
// The architecture document's spelling of the same keys is accepted too
// (spelling.go): server.adapters for listeners, server.limits for limits,
// server.shutdown_timeout for shutdown_timeout, store for storage.
type Config struct {
	Listeners []Listener `yaml:"listeners"`
	Limits    Limits     `yaml:"limits"`
	Storage   Storage    `yaml:"storage"`
	Auth      Auth       `yaml:"auth"` // see auth.go
	Log       Log        `yaml:"log"`
	Metrics   Metrics    `yaml:"metrics"`
	// ShutdownTimeout bounds the graceful shutdown after SIGTERM or
	// SIGINT: deliveries in flight get this long to be acknowledged.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// Cluster makes this mqttd a node of a cluster (cluster.go).
	Cluster *Cluster `yaml:"cluster"`

	// Source is where the configuration came from: a file name, or
	// DefaultSource.
	Source string `yaml:"-"`
	// Warnings are problems that do not stop the daemon (a storage block
	// for a type not selected), as "FILE: line N: text".
	Warnings []string `yaml:"-"`
}

// Listener is one entry of listeners.
type Listener struct {
	// Type is the transport: tcp, tls, websocket, unix, or a bridge: http,
	// coap or opcua; types with settings of their own have keys or a block
	// beside Address.
	Type string `yaml:"type"`
	// Name identifies the listener in logs and metrics; it defaults to Type.
	Name string `yaml:"name"`
	// Address is host:port ("127.0.0.1:1883"; port 0 picks a free one);
	// every type but unix and opcua in client mode needs one.
	Address string `yaml:"address"`
	// HTTP holds the settings of a listener of type http (http.go).
	HTTP *HTTP `yaml:"http"`

	// Keys of the tls, websocket and unix types (tls.go, websocket.go,
	// unix.go).

	// TLS is the certificate of a tls listener, or of a websocket one
	// serving wss.
	TLS *TLS `yaml:"tls"`
	// UseIdentityAsUsername takes the user name from the verified client
	// certificate (tls, and websocket with tls), as Mosquitto's
	// use_identity_as_username does.
	UseIdentityAsUsername bool `yaml:"use_identity_as_username"`
	// IdentityField is the part of the certificate that names the user:
	// cn (the default) or san (the first Subject Alternative Name).
	IdentityField string `yaml:"identity_field"`
	// Path is the URL path of a websocket listener (default /mqtt), or the
	// socket file of a unix listener.
	Path string `yaml:"path"`
	// AllowedOrigins are the origins a websocket listener accepts upgrades
	// from ("https://app.example.com"); empty: any.
	AllowedOrigins []string `yaml:"allowed_origins"`
	// Mode is the permissions of a unix listener's socket file, in octal
	// ("0660"); empty: from the umask.
	Mode string `yaml:"mode"`
	// CoAP holds the settings of a coap listener (see coap.go).
	CoAP *CoAP `yaml:"coap"`
	// OPCUA holds the settings of a listener of type opcua (opcua.go).
	OPCUA *OPCUA `yaml:"opcua"`
}

// Limits mirrors broker.Limits key for key (see there for their meaning).
// This package does not import the broker, so that it builds and tests on
// its own; cmd/mqttd copies the fields across.
type Limits struct {
	MaxConnections    int           `yaml:"max_connections"`
	MaxPending        int           `yaml:"max_pending_connections"`
	MaxQueuedBytes    int           `yaml:"max_queued_bytes"`
	MaxAliasBytes     int           `yaml:"max_alias_bytes"`
	MaxPacketSize     int           `yaml:"max_packet_size"`
	ReceiveMaximum    uint16        `yaml:"receive_maximum"`
	MaxInflight       int           `yaml:"max_inflight"`
	MaxQueuedMessages int           `yaml:"max_queued_messages"`
	ConnectTimeout    time.Duration `yaml:"connect_timeout"`
	KeepAliveMax      uint16        `yaml:"keep_alive_max"`
	MaxSessionExpiry  uint32        `yaml:"max_session_expiry"`
	MaxMessageExpiry  uint32        `yaml:"max_message_expiry"`
	TopicAliasMaximum uint16        `yaml:"topic_alias_maximum"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	ConnectRate       int           `yaml:"connect_rate"`
	PublishRate       int           `yaml:"publish_rate"`
	MaxSubscriptions  int           `yaml:"max_subscriptions"`
	StorageTimeout    time.Duration `yaml:"storage_timeout"`
	// IdleTimeout is the architecture document's name for how long a
	// silent connection is kept: Tern enforces it through keep alive, so
	// it sets KeepAliveMax (in whole seconds, rounded up) and cannot be
	// given with keep_alive_max. It is not copied to broker.Limits.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// MemoryLimit is the Go runtime's soft memory limit in bytes
	// (GOMEMLIMIT; 0 keeps the environment's). The broker's budget for
	// queued and in-flight messages is half of it unless
	// max_queued_bytes_total says otherwise. Not copied to broker.Limits.
	MemoryLimit int64 `yaml:"memory_limit"`
	// GCFloor is the heap size in bytes below which the garbage collector
	// does not start a cycle while the broker allocates fast (it raises
	// GOGC; see internal/gcfloor); lifted when idle. 0 turns it
	// off; so does a GOGC in the environment. Not copied to broker.Limits.
	GCFloor int64 `yaml:"gc_floor"`
	// MaxQueuedBytesTotal: bytes queued and in flight in all sessions;
	// beyond, the broker sheds load. 0: half of the memory limit, or of
	// the machine's memory.
	MaxQueuedBytesTotal int `yaml:"max_queued_bytes_total"`
}

// Storage selects the persistence backend. Each backend that needs
// settings has a block of its own named like its type, so that
//
//	storage: {type: bolt, bolt: {path: /var/lib/tern/tern.db, sync: batch}}
//
// reads naturally; an etcd block will slot in beside Bolt the same way.
type Storage struct {
	// Type is "memory" (the default), "bolt" or "etcd".
	Type string `yaml:"type"`
	Bolt *Bolt  `yaml:"bolt"`
	Etcd *Etcd  `yaml:"etcd"`
}

// Etcd configures the shared backend (storage/etcd), for several brokers
// on one etcd cluster.
type Etcd struct {
	Endpoints   []string      `yaml:"endpoints"`    // e.g. ["http://127.0.0.1:2379"]; required
	DialTimeout time.Duration `yaml:"dial_timeout"` // default 5s: an unreachable etcd fails the start within it
	Prefix      string        `yaml:"prefix"`       // key prefix, default "/tern/"
	Username    string        `yaml:"username"`
	Password    string        `yaml:"password"` // write ${ETCD_PASSWORD} to keep it out of the file
}

// Bolt configures the single-node on-disk backend (storage/bolt).
type Bolt struct {
	// Path is the database file, created if missing.
	Path string `yaml:"path"`
	// Sync is when a write reaches the disk, as storage/bolt's SyncMode
	// names it: always (the default: fsync every write), batch (group
	// concurrent writes into one fsync) or none (fsync about once a second).
	Sync string `yaml:"sync"`
}

// Log configures the daemon's logger.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn or error
	Format string `yaml:"format"` // text or json
}

// Default returns the embedded default configuration.
func Default() (*Config, error) {
	return Parse(DefaultSource, nil, os.LookupEnv)
}

// Load reads the configuration file at path, layered over the default, with
// ${NAME} references resolved from the process environment.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse decodes data, named name in errors, over the embedded default and
// validates the result. lookup resolves ${NAME} references (os.LookupEnv in
// Load). The error joins every problem found, one per line.
func Parse(name string, data []byte, lookup func(string) (string, bool)) (*Config, error) {
	var c Config
	def := newDecoder(DefaultSource, lookup)
	if err := def.decodeDocument(DefaultYAML, &c); err != nil {
		return nil, fmt.Errorf("the embedded default configuration is broken: %w", err)
	}
	d := newDecoder(name, lookup)
	if err := d.decodeDocument(data, &c); err != nil {
		return nil, err
	}
	if err := d.validate(&c); err != nil {
		return nil, err
	}
	c.Source = name
	c.Warnings = d.warnings
	return &c, nil
}

// Logger returns a logger writing to w in the configured format and level.
// The configuration must have been validated.
func (l Log) Logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: logLevels[l.Level]}
	if l.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// logLevels are the accepted values of log.level.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}
