package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// decodeAll runs Parse's steps but returns the configuration even when
// there are errors, with every error line, so a test can check what was
// read around the problems.
func decodeAll(t *testing.T, name string, data []byte, lookup func(string) (string, bool)) (*Config, []string) {
	t.Helper()
	var c Config
	if err := newDecoder(DefaultSource, nil).decodeDocument(DefaultYAML, &c); err != nil {
		t.Fatal(err)
	}
	d := newDecoder(name, lookup)
	_ = d.decodeDocument(data, &c)
	_ = d.validate(&c)
	c.Warnings = d.warnings
	var lines []string
	if err := d.err(); err != nil {
		lines = strings.Split(err.Error(), "\n")
	}
	return &c, lines
}

// TestSeedExampleLoads loads the architecture document's YAML example
// (testdata/seed.yaml, copied verbatim) with ADMIN_PASSWORD set. Every key
// it writes is read, every type it names is built; the only errors are
// that its TLS certificate and key (/etc/mqtt/server.crt and .key) are not
// on this machine, which mqttd checks before it starts.
func TestSeedExampleLoads(t *testing.T) {
	path := filepath.Join("testdata", "seed.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ADMIN_PASSWORD", "s3cret")

	_, err = Load(path)
	if err != nil {
		for line := range strings.SplitSeq(err.Error(), "\n") {
			if !missingSeedCert(line) {
				t.Errorf("error other than the seed's missing certificate: %s", line)
			}
		}
	}

	got, errs := decodeAll(t, path, data, os.LookupEnv)
	for _, e := range errs {
		if !missingSeedCert(e) {
			t.Errorf("unexpected error: %s", e)
		}
	}
	wantListeners := []Listener{
		{Type: "tcp", Name: "tcp", Address: ":1883"},
		{Type: "tls", Name: "tls", Address: ":8883"},
		{Type: "websocket", Name: "websocket", Address: ":8080"},
		{Type: "http", Name: "http", Address: ":8081"},
	}
	// Fields other builds add to Listener (tls: {cert, key}) are theirs to check.
	if diff := cmp.Diff(wantListeners, got.Listeners, cmpopts.IgnoreUnexported(Listener{}),
		cmp.FilterPath(func(p cmp.Path) bool {
			f, ok := p.Last().(cmp.StructField)
			return ok && f.Name() != "Type" && f.Name() != "Name" && f.Name() != "Address"
		}, cmp.Ignore())); diff != "" {
		t.Errorf("server.adapters (-want +got):\n%s", diff)
	}
	wantLimits := defaultConfig().Limits
	wantLimits.MaxConnections = 100000
	wantLimits.MaxPacketSize = 268435456
	wantLimits.ReceiveMaximum = 65535
	wantLimits.ConnectTimeout = 10 * time.Second
	wantLimits.IdleTimeout = 300 * time.Second
	wantLimits.KeepAliveMax = 300
	if diff := cmp.Diff(wantLimits, got.Limits); diff != "" {
		t.Errorf("server.limits (-want +got):\n%s", diff)
	}
	wantStorage := Storage{Type: "memory", Etcd: &Etcd{Endpoints: []string{"localhost:2379"}, DialTimeout: 5 * time.Second}}
	if diff := cmp.Diff(wantStorage, got.Storage); diff != "" {
		t.Errorf("store (-want +got):\n%s", diff)
	}
	if want := (Metrics{Enabled: true, Address: ":9090"}); got.Metrics != want {
		t.Errorf("metrics = %+v, want %+v", got.Metrics, want)
	}
	if got.Auth.Type != "password" || len(got.Auth.Users) != 1 || got.Auth.Users[0].Username != "admin" || got.Auth.Users[0].Password != "s3cret" {
		t.Errorf("auth = %+v, want type password and user admin with ADMIN_PASSWORD", got.Auth)
	}
	if u := got.Auth.Users[0]; !cmp.Equal(u.ACL.Publish, []string{"#"}) || !cmp.Equal(u.ACL.Subscribe, []string{"#"}) {
		t.Errorf("auth.users[0].acl = %+v", u.ACL)
	}
	wantWarnings := []string{path + `: line 33: store.etcd: ignored: store.type is "memory"`}
	if diff := cmp.Diff(wantWarnings, got.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
}

// TestSeedExampleNeedsAdminPassword: ${ADMIN_PASSWORD} unset is an error
// naming the variable and the key.
func TestSeedExampleNeedsAdminPassword(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "seed.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Parse("seed.yaml", data, env(nil))
	if want := "seed.yaml: line 26: auth.users[0].password: environment variable ADMIN_PASSWORD is not set"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v\ndoes not contain %q", err, want)
	}
}

// TestTwoSpellingsOneSchema: the architecture document's keys and
// today's decode to the same configuration.
func TestTwoSpellingsOneSchema(t *testing.T) {
	tests := []struct{ name, today, seed string }{
		{
			"listeners are server.adapters",
			"listeners:\n  - {type: tcp, address: \":1\"}\n  - {type: tcp, name: b, address: \":2\"}\n",
			"server:\n  adapters:\n    - {type: tcp, address: \":1\"}\n    - {type: tcp, name: b, address: \":2\"}\n",
		},
		{
			"limits are server.limits",
			"limits:\n  max_inflight: 7\n  connect_timeout: 3s\n",
			"server:\n  limits:\n    max_inflight: 7\n    connect_timeout: 3s\n",
		},
		{
			"shutdown_timeout is server.shutdown_timeout",
			"shutdown_timeout: 4s\n",
			"server:\n  shutdown_timeout: 4s\n",
		},
		{
			"storage is store",
			"storage:\n  type: bolt\n  bolt: {path: x.db, sync: none}\n",
			"store:\n  type: bolt\n  bolt: {path: x.db, sync: none}\n",
		},
		{
			"idle_timeout is keep_alive_max",
			"limits:\n  keep_alive_max: 300\n",
			"server:\n  limits:\n    idle_timeout: 5m\n",
		},
		{
			"idle_timeout rounds up to seconds",
			"limits:\n  keep_alive_max: 2\n",
			"limits:\n  idle_timeout: 1500ms\n",
		},
		{
			"empty server block",
			"",
			"server:\n",
		},
	}
	ignore := cmpopts.IgnoreFields(Config{}, "Source", "Warnings", "Limits.IdleTimeout")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			today, err := Parse("today.yaml", []byte(tt.today), nil)
			if err != nil {
				t.Fatal(err)
			}
			seed, err := Parse("seed.yaml", []byte(tt.seed), nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(today, seed, ignore); diff != "" {
				t.Errorf("(-today +seed):\n%s", diff)
			}
		})
	}
}

// TestSpellingErrors: errors name the keys as the file wrote them.
func TestSpellingErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{
			"both spellings of the listeners",
			"listeners:\n  - {type: tcp, address: \":1\"}\nserver:\n  adapters:\n    - {type: tcp, address: \":2\"}\n",
			[]string{`line 4: server.adapters: listeners is set too (line 1): write one of them`},
		},
		{
			"both spellings of storage",
			"store: {type: memory}\nstorage: {type: memory}\n",
			[]string{`line 1: store: storage is set too (line 2): write one of them`},
		},
		{
			"unknown key in server",
			"server:\n  adapter: []\n",
			[]string{`line 2: unknown key "adapter" in server (known: adapters, limits, shutdown_timeout)`},
		},
		{
			"server is not a mapping",
			"server: [tcp]\n",
			[]string{`line 1: server: expected a mapping (key: value), found a list`},
		},
		{
			"adapter without address",
			"server:\n  adapters:\n    - type: tcp\n",
			[]string{`line 3: server.adapters[0].address: is required`},
		},
		{
			"adapter names collide",
			"server:\n  adapters:\n    - {type: tcp, address: \":1\"}\n    - {type: tcp, address: \":2\"}\n",
			[]string{`line 4: server.adapters[1].name: "tcp" is also the name of server.adapters[0]`},
		},
		{
			"unknown key in an adapter",
			"server:\n  adapters:\n    - {type: tcp, address: \":1\", port: 1}\n",
			[]string{`line 3: unknown key "port" in server.adapters[0]`},
		},
		{
			"unknown limit",
			"server:\n  limits:\n    max_conections: 1\n",
			[]string{`line 3: unknown key "max_conections" in server.limits`},
		},
		{
			"bad limit",
			"server:\n  limits:\n    connect_timeout: soon\n",
			[]string{`line 3: server.limits.connect_timeout: invalid duration "soon"`},
		},
		{
			"idle_timeout with keep_alive_max",
			"server:\n  limits:\n    idle_timeout: 60s\n    keep_alive_max: 60\n",
			[]string{`line 3: server.limits.idle_timeout: server.limits.keep_alive_max is set too`},
		},
		{
			"idle_timeout beyond keep alive",
			"limits:\n  idle_timeout: 20h\n",
			[]string{`line 2: limits.idle_timeout: must be between 1s and 65535s`},
		},
		{
			"store type unknown",
			"store:\n  type: redis\n",
			[]string{`line 2: store.type: unknown storage type "redis"`},
		},
		{
			"store etcd without endpoints",
			"store:\n  type: etcd\n",
			[]string{`line 2: store.etcd.endpoints: is required when store.type is etcd`},
		},
		{
			"metrics without address",
			"metrics:\n  enabled: true\n  address: \"\"\n",
			[]string{`line 3: metrics.address: is required when metrics are enabled`},
		},
		{
			"metrics address without port",
			"metrics:\n  enabled: true\n  address: localhost\n",
			[]string{`line 3: metrics.address: "localhost" is not host:port`},
		},
		{
			"shutdown timeout",
			"server:\n  shutdown_timeout: 0s\n",
			[]string{`line 2: server.shutdown_timeout: must be positive`},
		},
		{
			"auth type",
			"auth:\n  type: kerberos\n",
			[]string{`line 2: auth.type: unknown type "kerberos"`},
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
			if strings.Contains(err.Error(), "unknown key") && !strings.Contains(strings.Join(tt.want, ""), "unknown key") {
				t.Errorf("error has an unknown key complaint:\n%v", err)
			}
		})
	}
}

// TestInactiveStorageBlockWarns: a block for a backend not selected is
// kept (for switching later) and ignored with a warning, in either
// spelling.
func TestInactiveStorageBlockWarns(t *testing.T) {
	tests := []struct{ file, want string }{
		{"storage:\n  type: memory\n  bolt: {path: x.db}\n", `tern.yaml: line 3: storage.bolt: ignored: storage.type is "memory"`},
		{"store:\n  type: bolt\n  bolt: {path: x.db}\n  etcd: {endpoints: [a]}\n", `tern.yaml: line 4: store.etcd: ignored: store.type is "bolt"`},
	}
	for _, tt := range tests {
		c, err := Parse("tern.yaml", []byte(tt.file), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !cmp.Equal(c.Warnings, []string{tt.want}) {
			t.Errorf("warnings %q, want %q", c.Warnings, tt.want)
		}
	}
}

// missingSeedCert reports whether e is about the seed's certificate files,
// which are not on a test machine.
func missingSeedCert(e string) bool {
	return strings.Contains(e, "/etc/mqtt/server.") && strings.Contains(e, "no such file or directory")
}
