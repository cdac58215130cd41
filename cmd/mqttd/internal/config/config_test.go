package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// env returns a lookup function over vars, standing in for os.LookupEnv.
func env(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}
}

// defaultConfig is what default.yaml must decode to.
func defaultConfig() *Config {
	return &Config{
		Listeners: []Listener{{Type: "tcp", Name: "tcp", Address: "127.0.0.1:1883"}},
		Limits: Limits{
			MaxConnections:    100_000,
			MaxPending:        10_000,
			MaxQueuedBytes:    64 << 20,
			MaxAliasBytes:     64 << 10,
			MaxPacketSize:     1 << 20,
			ReceiveMaximum:    1024,
			MaxInflight:       4096,
			MaxQueuedMessages: 65536,
			ConnectTimeout:    10 * time.Second,
			KeepAliveMax:      65535,
			MaxSessionExpiry:  7 * 24 * 3600,
			MaxMessageExpiry:  0,
			TopicAliasMaximum: 10,
			WriteTimeout:      30 * time.Second,
			MaxSubscriptions:  10_000,
			StorageTimeout:    5 * time.Second,
			GCFloor:           32 << 20,
		},
		Storage:         Storage{Type: "memory"},
		Log:             Log{Level: "info", Format: "text"},
		Metrics:         Metrics{Enabled: false, Address: "127.0.0.1:9090"},
		Auth:            Auth{},
		ShutdownTimeout: 10 * time.Second,
		Source:          DefaultSource,
	}
}

func TestDefaultIsLoopbackAnonymousMemory(t *testing.T) {
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(defaultConfig(), c); diff != "" {
		t.Errorf("Default() (-want +got):\n%s", diff)
	}
}

func TestParseValidFile(t *testing.T) {
	const file = `
# every key, with values other than the defaults
listeners:
  - type: tcp
    name: local
    address: "127.0.0.1:1883"
  - type: TCP
    address: "[::1]:${PORT:-1884}"
limits:
  max_connections: 1_000
  max_packet_size: 65536
  receive_maximum: 10
  max_inflight: 20
  max_queued_messages: 30
  connect_timeout: 1m30s
  keep_alive_max: 600
  max_session_expiry: 3600
  max_message_expiry: 60
  topic_alias_maximum: 5
  write_timeout: 2s
storage:
  type: bolt
  bolt:
    path: ${DATA}/tern.db
    sync: Batch
log:
  level: DEBUG
  format: json
metrics:
  enabled: true
  address: ":9191"
shutdown_timeout: 3s
`
	got, err := Parse("tern.yaml", []byte(file), env(map[string]string{"DATA": "/var/lib/tern"}))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Listeners: []Listener{
			{Type: "tcp", Name: "local", Address: "127.0.0.1:1883"},
			{Type: "tcp", Name: "tcp", Address: "[::1]:1884"},
		},
		Limits: Limits{
			MaxConnections:    1000,
			MaxPending:        10_000,
			MaxQueuedBytes:    64 << 20,
			MaxAliasBytes:     64 << 10,
			MaxSubscriptions:  10_000,
			MaxPacketSize:     65536,
			ReceiveMaximum:    10,
			MaxInflight:       20,
			MaxQueuedMessages: 30,
			ConnectTimeout:    90 * time.Second,
			KeepAliveMax:      600,
			MaxSessionExpiry:  3600,
			MaxMessageExpiry:  60,
			TopicAliasMaximum: 5,
			WriteTimeout:      2 * time.Second,
			StorageTimeout:    5 * time.Second,
			GCFloor:           32 << 20,
		},
		Storage:         Storage{Type: "bolt", Bolt: &Bolt{Path: "/var/lib/tern/tern.db", Sync: "batch"}},
		Log:             Log{Level: "debug", Format: "json"},
		Metrics:         Metrics{Enabled: true, Address: ":9191"},
		Auth:            Auth{},
		ShutdownTimeout: 3 * time.Second,
		Source:          "tern.yaml",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Parse (-want +got):\n%s", diff)
	}
}

func TestParseLayersOverDefault(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		change func(*Config)
	}{
		{"empty file", "", func(*Config) {}},
		{"only comments", "# nothing here\n", func(*Config) {}},
		{"null section keeps the default", "limits:\n", func(*Config) {}},
		{"one limit", "limits:\n  max_inflight: 7\n", func(c *Config) { c.Limits.MaxInflight = 7 }},
		{"log level only", "log: {level: warn}\n", func(c *Config) { c.Log.Level = "warn" }},
		{
			"listeners replace the default list",
			"listeners:\n  - {type: tcp, address: \":0\"}\n",
			func(c *Config) { c.Listeners = []Listener{{Type: "tcp", Name: "tcp", Address: ":0"}} },
		},
		{
			"a variable in a comment needs no value",
			"# password: ${UNSET}\nlog: {format: json}\n",
			func(c *Config) { c.Log.Format = "json" },
		},
		{
			"anchors and aliases",
			"limits:\n  connect_timeout: &t 5s\n  write_timeout: *t\n",
			func(c *Config) { c.Limits.ConnectTimeout, c.Limits.WriteTimeout = 5*time.Second, 5*time.Second },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("tern.yaml", []byte(tt.file), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := defaultConfig()
			want.Source = "tern.yaml"
			tt.change(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseExpandsEnvironment(t *testing.T) {
	vars := env(map[string]string{"HOST": "10.0.0.1", "PORT": "1999", "EMPTY": "", "MAXC": "12"})
	tests := []struct {
		name, address string
		want          string
	}{
		{"set", "${HOST}:${PORT}", "10.0.0.1:1999"},
		{"default unused", "${HOST:-0.0.0.0}:1883", "10.0.0.1:1883"},
		{"default used when unset", "${NOPE:-0.0.0.0}:1883", "0.0.0.0:1883"},
		{"default used when empty", "${EMPTY:-0.0.0.0}:1883", "0.0.0.0:1883"},
		{"default with colons", "${NOPE:-127.0.0.1:1883}", "127.0.0.1:1883"},
		{"set but empty without default", "${EMPTY}127.0.0.1:1883", "127.0.0.1:1883"},
		{"lone dollars are literal", "h$st$$:1883", "h$st$$:1883"},
		{"$${ is a literal ${", "$${HOST}:1", "${HOST}:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := "listeners:\n  - type: tcp\n    address: \"" + tt.address + "\"\n"
			c, err := Parse("tern.yaml", []byte(file), vars)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Listeners[0].Address; got != tt.want {
				t.Errorf("address = %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("in an integer", func(t *testing.T) {
		c, err := Parse("tern.yaml", []byte("limits:\n  max_connections: ${MAXC}\n"), vars)
		if err != nil {
			t.Fatal(err)
		}
		if c.Limits.MaxConnections != 12 {
			t.Errorf("max_connections = %d, want 12", c.Limits.MaxConnections)
		}
	})
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // each must appear in the error
	}{
		{
			"unknown key at top level",
			"log: {level: info}\nlimit:\n  max_inflight: 3\n",
			[]string{`tern.yaml: line 2: unknown key "limit" at top level (known: listeners, limits, storage, auth, log`},
		},
		{
			"unknown key nested",
			"limits:\n  max_inflight: 3\n  max_conections: 4\n",
			[]string{`tern.yaml: line 3: unknown key "max_conections" in limits (known: max_connections,`},
		},
		{
			"unknown key in a listener",
			"listeners:\n  - type: tcp\n    address: \":1883\"\n    port: 1883\n",
			[]string{`line 4: unknown key "port" in listeners[0]`},
		},
		{
			"unknown key deeper",
			"storage:\n  type: bolt\n  bolt:\n    path: x.db\n    fsync: always\n",
			[]string{`line 5: unknown key "fsync" in storage.bolt (known: path, sync)`},
		},
		{
			"bad duration",
			"limits:\n  connect_timeout: 10x\n",
			[]string{`line 2: limits.connect_timeout: invalid duration "10x" (a number with a unit, e.g. 10s or 1m30s)`},
		},
		{
			"duration without unit",
			"limits:\n  write_timeout: 30\n",
			[]string{`line 2: limits.write_timeout: invalid duration "30"`},
		},
		{
			"negative duration",
			"limits:\n  write_timeout: -1s\n",
			[]string{`line 2: limits.write_timeout: must be positive`},
		},
		{
			"unknown listener type",
			"listeners:\n  - type: tcp\n    address: \":1\"\n  - type: quic\n    name: q\n    address: \":2\"\n",
			[]string{`line 4: listeners[1].type: unknown listener type "quic" (one of: tcp`},
		},
		{
			"listener type missing",
			"listeners:\n  - address: \":1\"\n",
			[]string{`line 2: listeners[0].type: is required (one of: tcp`},
		},
		{
			"address missing",
			"listeners:\n  - type: tcp\n",
			[]string{`line 2: listeners[0].address: is required`},
		},
		{
			"address without port",
			"listeners:\n  - type: tcp\n    address: localhost\n",
			[]string{`line 3: listeners[0].address: "localhost" is not host:port: missing port in address`},
		},
		{
			"no listeners",
			"listeners: []\n",
			[]string{`line 1: listeners: at least one listener is needed`},
		},
		{
			"duplicate listener names",
			"listeners:\n  - {type: tcp, address: \":1\"}\n  - {type: tcp, address: \":2\"}\n",
			[]string{`line 3: listeners[1].name: "tcp" is also the name of listeners[0]`},
		},
		{
			"missing variable",
			"log:\n  level: ${TERN_LOG_LEVEL}\n",
			[]string{`line 2: log.level: environment variable TERN_LOG_LEVEL is not set (write ${TERN_LOG_LEVEL:-default} to give a default)`},
		},
		{
			"unterminated reference",
			"log:\n  level: ${TERN\n",
			[]string{`line 2: log.level: unterminated ${`},
		},
		{
			"bad variable name",
			"log:\n  level: ${1X}\n",
			[]string{`line 2: log.level: ${1X}: "1X" is not a variable name`},
		},
		{
			"nested default",
			"log:\n  level: ${A:-${B}}\n",
			[]string{`line 2: log.level: ${A:-${B}: a default cannot refer to another variable`},
		},
		{
			"not an integer",
			"limits:\n  max_inflight: lots\n",
			[]string{`line 2: limits.max_inflight: "lots" is not an integer`},
		},
		{
			"float is not an integer",
			"limits:\n  max_packet_size: 1e6\n",
			[]string{`line 2: limits.max_packet_size: "1e6" is not an integer`},
		},
		{
			"uint16 out of range",
			"limits:\n  receive_maximum: 70000\n",
			[]string{`line 2: limits.receive_maximum: 70000 is out of range (0 to 65535)`},
		},
		{
			"negative unsigned",
			"limits:\n  keep_alive_max: -1\n",
			[]string{`line 2: limits.keep_alive_max: -1 is out of range (0 to 65535)`},
		},
		{
			"zero that would mean default",
			"limits:\n  topic_alias_maximum: 0\n",
			[]string{`line 2: limits.topic_alias_maximum: must be at least 1 (the broker reads 0 as "use the default")`},
		},
		{
			"negative size",
			"limits:\n  max_packet_size: -5\n",
			[]string{`line 2: limits.max_packet_size: must be at least 1`},
		},
		{
			"negative connections",
			"limits:\n  max_connections: -1\n",
			[]string{`line 2: limits.max_connections: must be at least 0`},
		},
		{
			"inflight above packet identifiers",
			"limits:\n  max_inflight: 70000\n",
			[]string{`line 2: limits.max_inflight: 70000 is more than 65535, the most allowed`},
		},
		{
			"packet size above MQTT",
			"limits:\n  max_packet_size: 300000000\n",
			[]string{`line 2: limits.max_packet_size: 300000000 is more than 268435460`},
		},
		{
			"bolt sync mode",
			"storage:\n  type: bolt\n  bolt: {path: x, sync: yes}\n",
			[]string{`line 3: storage.bolt.sync: unknown sync mode "yes" (one of: always, batch, none)`},
		},
		{
			"unknown storage type",
			"storage:\n  type: redis\n",
			[]string{`line 2: storage.type: unknown storage type "redis" (one of: memory, bolt, etcd)`},
		},
		{
			"bolt without path",
			"storage:\n  type: bolt\n",
			[]string{`line 2: storage.bolt.path: is required when storage.type is bolt`},
		},
		{
			"log level",
			"log:\n  level: verbose\n",
			[]string{`line 2: log.level: unknown level "verbose" (one of: debug, info, warn, error)`},
		},
		{
			"log format",
			"log:\n  format: xml\n",
			[]string{`line 2: log.format: unknown format "xml" (one of: text, json)`},
		},
		{
			"mapping expected",
			"limits: [1, 2]\n",
			[]string{`line 1: limits: expected a mapping (key: value), found a list`},
		},
		{
			"list expected",
			"listeners:\n  type: tcp\n",
			[]string{`line 2: listeners: expected a list, found a mapping`},
		},
		{
			"scalar expected",
			"log:\n  level: [info]\n",
			[]string{`line 2: log.level: expected a single value, found a list`},
		},
		{
			"top level is not a mapping",
			"- tcp\n",
			[]string{`line 1: top level: expected a mapping (key: value), found a list`},
		},
		{
			"duplicate key",
			"limits:\n  max_inflight: 1\n  max_inflight: 2\n",
			[]string{`line 3: limits.max_inflight: duplicate key (first at line 2)`},
		},
		{
			"second document",
			"log: {level: info}\n---\nlog: {level: debug}\n",
			[]string{`line 2: a second YAML document: mqttd reads one`},
		},
		{
			"yaml syntax",
			"limits:\n  max_inflight: 1\n max_queued_messages: 2\n",
			[]string{`tern.yaml: line `, `did not find expected key`},
		},
		{
			"every problem at once",
			"limits:\n  foo: 1\n  connect_timeout: soon\nlog:\n  level: loud\n",
			[]string{
				`line 2: unknown key "foo" in limits`,
				`line 3: limits.connect_timeout: invalid duration "soon"`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("tern.yaml", []byte(tt.file), nil)
			if err == nil {
				t.Fatalf("no error; config %+v", c)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestBoltSyncDefaultsToAlways(t *testing.T) {
	c, err := Parse("tern.yaml", []byte("storage:\n  type: bolt\n  bolt:\n    path: tern.db\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (&Bolt{Path: "tern.db", Sync: "always"}); !cmp.Equal(c.Storage.Bolt, want) {
		t.Errorf("bolt = %+v, want %+v", c.Storage.Bolt, want)
	}
}

func TestErrorCarriesLine(t *testing.T) {
	_, err := Parse("tern.yaml", []byte("log:\n  level: info\nlimits:\n  nope: 1\n"), nil)
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v is not a *config.Error", err)
	}
	if ce.File != "tern.yaml" || ce.Line != 4 {
		t.Errorf("error at %s line %d, want tern.yaml line 4", ce.File, ce.Line)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tern.yaml")
	t.Setenv("TERN_TEST_ADDR", "127.0.0.1:0")
	if err := os.WriteFile(path, []byte("listeners:\n  - type: tcp\n    address: ${TERN_TEST_ADDR}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source != path || c.Listeners[0].Address != "127.0.0.1:0" {
		t.Errorf("Load = source %q address %q", c.Source, c.Listeners[0].Address)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestLogger(t *testing.T) {
	var b strings.Builder
	Log{Level: "warn", Format: "json"}.Logger(&b).Info("hidden")
	Log{Level: "warn", Format: "json"}.Logger(&b).Warn("shown", "k", 1)
	if got := b.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `"msg":"shown","k":1`) {
		t.Errorf("json logger wrote %q", got)
	}
	b.Reset()
	Log{Level: "debug", Format: "text"}.Logger(&b).Debug("shown")
	if got := b.String(); !strings.Contains(got, "level=DEBUG msg=shown") {
		t.Errorf("text logger wrote %q", got)
	}
}
