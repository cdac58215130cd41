package config

import (
	"crypto/tls"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ternmq/broker/internal/testcerts"
	tlslistener "github.com/ternmq/broker/listeners/tls"
)

// certFiles writes a CA and a server certificate to a temporary directory
// and returns a replacer of CERT, KEY, CA and DIR in YAML text.
func certFiles(t *testing.T) *strings.Replacer {
	t.Helper()
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "config-test")
	cert, key := ca.Server(t).WriteFiles(t, dir, "server")
	return strings.NewReplacer("CERT", cert, "KEY", key, "CA", ca.WriteFile(t, dir), "DIR", dir)
}

// TestParseTLSWebSocketUnixListeners: every key of the tls, websocket and
// unix listener types decodes, defaults fill in, and the values convert to
// what listeners/tls takes.
func TestParseTLSWebSocketUnixListeners(t *testing.T) {
	files := certFiles(t)
	file := files.Replace(`
listeners:
  - type: tls                   # the shape of the seed configuration
    address: "127.0.0.1:8883"
    tls: {cert: CERT, key: KEY}
  - type: tls
    name: mtls
    address: "127.0.0.1:8884"
    tls:
      cert: CERT
      key: KEY
      client_ca: CA
      client_auth: require
      min_version: "1.2"
      cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]
    use_identity_as_username: true
    identity_field: san
  - type: websocket
    address: "127.0.0.1:8080"
  - type: websocket
    name: wss
    address: "127.0.0.1:8443"
    path: /ws
    allowed_origins: ["https://app.example.com", "*"]
    tls: {cert: CERT, key: KEY, min_version: "1.3"}
  - type: unix
    path: DIR/mqtt.sock
    mode: "0660"
`)
	c, err := Parse("tern.yaml", []byte(file), nil)
	if err != nil {
		t.Fatal(err)
	}
	ls := c.Listeners
	if len(ls) != 5 {
		t.Fatalf("%d listeners, want 5", len(ls))
	}
	names := []string{ls[0].Name, ls[1].Name, ls[2].Name, ls[3].Name, ls[4].Name}
	if diff := cmp.Diff([]string{"tls", "mtls", "websocket", "wss", "unix"}, names); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if ls[0].Identity() != 0 || ls[1].Identity() != tlslistener.IdentitySAN {
		t.Errorf("identities %v, %v; want none, san", ls[0].Identity(), ls[1].Identity())
	}
	f := ls[1].TLS.Files()
	want := tlslistener.Files{
		Cert: f.Cert, Key: f.Key, ClientCA: f.ClientCA,
		ClientAuth: tls.RequireAndVerifyClientCert, MinVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
	}
	if diff := cmp.Diff(want, f); diff != "" || f.ClientCA == "" {
		t.Errorf("mtls files (-want +got):\n%s", diff)
	}
	if ls[2].Path != "/mqtt" || ls[2].AllowedOrigins != nil || ls[2].TLS != nil {
		t.Errorf("websocket defaults: path %q, origins %q, tls %v; want /mqtt, any, none", ls[2].Path, ls[2].AllowedOrigins, ls[2].TLS)
	}
	if ls[3].Path != "/ws" || len(ls[3].AllowedOrigins) != 2 || ls[3].TLS.Files().MinVersion != tls.VersionTLS13 {
		t.Errorf("wss: %+v", ls[3])
	}
	if m, err := ls[4].FileMode(); err != nil || m != 0o660 || !strings.HasSuffix(ls[4].Path, "mqtt.sock") {
		t.Errorf("unix: path %q, mode %v, %v", ls[4].Path, m, err)
	}
}

// TestUnquotedOctalMode: mode: 0660 without quotes means octal, as in
// chmod, not the decimal 660 YAML might read.
func TestUnquotedOctalMode(t *testing.T) {
	c, err := Parse("tern.yaml", []byte("listeners:\n  - {type: unix, path: /tmp/x.sock, mode: 0640}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := c.Listeners[0].FileMode(); m != fs.FileMode(0o640) {
		t.Errorf("mode %v, want 0640", m)
	}
}

// TestListenerKeyErrors: each mistake in the keys of tls, websocket and
// unix listeners is an error naming the key and its line.
func TestListenerKeyErrors(t *testing.T) {
	files := certFiles(t)
	dir := files.Replace("DIR")
	if err := os.WriteFile(filepath.Join(dir, "junk.pem"), []byte("junk"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		file string
		want string
	}{
		{
			"missing certificate file",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls:\n      cert: DIR/nope.pem\n      key: KEY\n",
			"line 5: listeners[0].tls.cert: DIR/nope.pem: no such file or directory",
		},
		{
			"missing key file",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls: {cert: CERT, key: DIR/nokey.pem}\n",
			"line 4: listeners[0].tls.key: DIR/nokey.pem: no such file or directory",
		},
		{
			"missing client CA file",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls:\n      cert: CERT\n      key: KEY\n      client_auth: require\n      client_ca: DIR/noca.pem\n",
			"line 8: listeners[0].tls.client_ca: DIR/noca.pem: no such file or directory",
		},
		{
			"key file that is no key",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls:\n      cert: CERT\n      key: DIR/junk.pem\n",
			"line 4: listeners[0].tls: tls: certificate",
		},
		{
			"unknown client_auth",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls:\n      cert: CERT\n      key: KEY\n      client_auth: optional\n",
			`line 7: listeners[0].tls.client_auth: unknown client_auth "optional" (one of: none, request, require)`,
		},
		{
			"client_auth without client_ca",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls:\n      cert: CERT\n      key: KEY\n      client_auth: request\n",
			"line 7: listeners[0].tls.client_ca: is required when client_auth is request",
		},
		{
			"unknown min_version",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls: {cert: CERT, key: KEY, min_version: \"1.0\"}\n",
			`line 4: listeners[0].tls.min_version: unknown TLS version "1.0" (one of: 1.2, 1.3)`,
		},
		{
			"unknown cipher suite",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls:\n      cert: CERT\n      key: KEY\n      cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n",
			`line 7: listeners[0].tls.cipher_suites: unknown or insecure TLS 1.2 cipher suite "TLS_RSA_WITH_RC4_128_SHA"`,
		},
		{
			"cipher suites with TLS 1.3 only",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls:\n      cert: CERT\n      key: KEY\n      min_version: \"1.3\"\n      cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n",
			"line 8: listeners[0].tls.cipher_suites: apply to TLS 1.2 only",
		},
		{
			"tls listener without tls block",
			"listeners:\n  - type: tls\n    address: \":8883\"\n",
			"line 2: listeners[0].tls: is required for a tls listener",
		},
		{
			"tls block without cert",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls:\n      key: KEY\n",
			"line 4: listeners[0].tls.cert: is required (a PEM file)",
		},
		{
			"tls block on a tcp listener",
			"listeners:\n  - type: tcp\n    address: \":1883\"\n    tls: {cert: CERT, key: KEY}\n",
			`line 4: listeners[0].tls: is set but listeners[0].type is "tcp"`,
		},
		{
			"identity without tls",
			"listeners:\n  - type: tcp\n    address: \":1883\"\n    use_identity_as_username: true\n",
			"line 4: listeners[0].use_identity_as_username: needs a tls block",
		},
		{
			"identity without required client certificates",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls: {cert: CERT, key: KEY, client_ca: CA, client_auth: request}\n    use_identity_as_username: true\n",
			"line 5: listeners[0].use_identity_as_username: needs tls.client_auth: require",
		},
		{
			"unknown identity field",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls: {cert: CERT, key: KEY, client_ca: CA, client_auth: require}\n    use_identity_as_username: true\n    identity_field: dn\n",
			`line 6: listeners[0].identity_field: unknown identity field "dn" (one of: cn, san)`,
		},
		{
			"two listeners on one address",
			"listeners:\n  - {type: tcp, address: \"127.0.0.1:1883\"}\n  - type: websocket\n    address: \"127.0.0.1:1883\"\n",
			`line 4: listeners[1].address: "127.0.0.1:1883" clashes with "127.0.0.1:1883" of listeners[0]`,
		},
		{
			"wildcard and a host on one port",
			"listeners:\n  - {type: tcp, address: \":1883\"}\n  - {type: tls, name: t2, address: \"127.0.0.1:1883\", tls: {cert: CERT, key: KEY}}\n",
			`line 3: listeners[1].address: "127.0.0.1:1883" clashes with ":1883" of listeners[0]`,
		},
		{
			"two unix listeners on one socket",
			"listeners:\n  - {type: unix, path: /tmp/a.sock}\n  - {type: unix, name: u2, path: /tmp/a.sock}\n",
			`line 3: listeners[1].path: "/tmp/a.sock" is also the socket of listeners[0]`,
		},
		{
			"websocket path not a path",
			"listeners:\n  - type: websocket\n    address: \":8080\"\n    path: mqtt\n",
			`line 4: listeners[0].path: "mqtt" is not a URL path`,
		},
		{
			"websocket origin not an origin",
			"listeners:\n  - type: websocket\n    address: \":8080\"\n    allowed_origins:\n      - https://ok.example.com\n      - app.example.com\n",
			`line 6: listeners[0].allowed_origins[1]: "app.example.com" is not an origin`,
		},
		{
			"allowed origins on tcp",
			"listeners:\n  - type: tcp\n    address: \":1883\"\n    allowed_origins: [\"*\"]\n",
			`line 4: listeners[0].allowed_origins: is set but listeners[0].type is "tcp"`,
		},
		{
			"unix without path",
			"listeners:\n  - type: unix\n",
			"line 2: listeners[0].path: is required for a unix listener",
		},
		{
			"unix with an address",
			"listeners:\n  - type: unix\n    path: /tmp/x.sock\n    address: \":1883\"\n",
			"line 4: listeners[0].address: is not used by a unix listener",
		},
		{
			"unix mode not octal",
			"listeners:\n  - type: unix\n    path: /tmp/x.sock\n    mode: rw-rw----\n",
			`line 4: listeners[0].mode: "rw-rw----" is not a file mode`,
		},
		{
			"unix mode too wide",
			"listeners:\n  - type: unix\n    path: /tmp/x.sock\n    mode: \"4755\"\n",
			`line 4: listeners[0].mode: "4755" is not a file mode`,
		},
		{
			"mode on tcp",
			"listeners:\n  - type: tcp\n    address: \":1883\"\n    mode: \"0600\"\n",
			`line 4: listeners[0].mode: is set but listeners[0].type is "tcp"`,
		},
		{
			"path on tls",
			"listeners:\n  - type: tls\n    address: \":8883\"\n    tls: {cert: CERT, key: KEY}\n    path: /x\n",
			`line 5: listeners[0].path: is set but listeners[0].type is "tls"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("tern.yaml", []byte(files.Replace(tt.file)), nil)
			if err == nil {
				t.Fatalf("no error; listeners %+v", c.Listeners)
			}
			if want := "tern.yaml: " + files.Replace(tt.want); !strings.Contains(err.Error(), want) {
				t.Errorf("error\n%v\ndoes not contain\n%s", err, want)
			}
		})
	}
}
