package tls_test

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ternmq/broker/internal/testcerts"
	tlslistener "github.com/ternmq/broker/listeners/tls"
)

func TestParseClientAuth(t *testing.T) {
	cases := []struct {
		in      string
		want    tls.ClientAuthType
		wantErr bool
	}{
		{"", tls.NoClientCert, false},
		{"none", tls.NoClientCert, false},
		{"request", tls.VerifyClientCertIfGiven, false}, // verified when given: never RequestClientCert
		{"REQUIRE", tls.RequireAndVerifyClientCert, false},
		{"optional", 0, true},
	}
	for _, tc := range cases {
		got, err := tlslistener.ParseClientAuth(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseClientAuth(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseVersion(t *testing.T) {
	cases := []struct {
		in      string
		want    uint16
		wantErr bool
	}{
		{"", tls.VersionTLS12, false},
		{"1.2", tls.VersionTLS12, false},
		{"1.3", tls.VersionTLS13, false},
		{"1.1", 0, true},
		{"tls1.3", 0, true},
	}
	for _, tc := range cases {
		got, err := tlslistener.ParseVersion(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseVersion(%q) = %x, %v; want %x, error %v", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestParseCipherSuites(t *testing.T) {
	got, err := tlslistener.ParseCipherSuites([]string{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "tls_ecdhe_rsa_with_chacha20_poly1305_sha256"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256}, got); diff != "" {
		t.Errorf("ParseCipherSuites (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"TLS_RSA_WITH_RC4_128_SHA", "TLS_AES_128_GCM_SHA256", "nope"} {
		if _, err := tlslistener.ParseCipherSuites([]string{bad}); err == nil {
			t.Errorf("ParseCipherSuites(%q) accepted an insecure, TLS 1.3 or unknown suite", bad)
		}
	}
}

func TestParseIdentityField(t *testing.T) {
	for in, want := range map[string]tlslistener.IdentityField{"cn": tlslistener.IdentityCN, "SAN": tlslistener.IdentitySAN} {
		if got, err := tlslistener.ParseIdentityField(in); err != nil || got != want {
			t.Errorf("ParseIdentityField(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := tlslistener.ParseIdentityField("dn"); err == nil {
		t.Error("ParseIdentityField(\"dn\") accepted")
	}
}

// TestFilesLoadErrors: each broken file setting fails Load with an error
// naming the problem.
func TestFilesLoadErrors(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "tern-test")
	cert, key := ca.Server(t).WriteFiles(t, dir, "server")
	caFile := ca.WriteFile(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		files   tlslistener.Files
		wantErr string
	}{
		{"ok", tlslistener.Files{Cert: cert, Key: key}, ""},
		{"ok with client CA", tlslistener.Files{Cert: cert, Key: key, ClientCA: caFile, ClientAuth: tls.RequireAndVerifyClientCert}, ""},
		{"missing certificate", tlslistener.Files{Cert: filepath.Join(dir, "nope.pem"), Key: key}, "no such file"},
		{"key is the certificate", tlslistener.Files{Cert: cert, Key: cert}, "key"},
		{"client CA not PEM", tlslistener.Files{Cert: cert, Key: key, ClientCA: notPEM, ClientAuth: tls.RequireAndVerifyClientCert}, "no PEM certificate"},
		{"client auth without CA", tlslistener.Files{Cert: cert, Key: key, ClientAuth: tls.VerifyClientCertIfGiven}, "client CA file is required"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := tc.files.Load()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if cfg.MinVersion != tls.VersionTLS12 {
					t.Errorf("MinVersion = %x, want TLS 1.2 by default", cfg.MinVersion)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Load: %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// TestMinVersionRefusesOlder: with a minimum of TLS 1.3, a client that
// offers at most TLS 1.2 fails its handshake.
func TestMinVersionRefusesOlder(t *testing.T) {
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "tern-test")
	cert, key := ca.Server(t).WriteFiles(t, dir, "server")
	l, err := tlslistener.NewFromFiles("tls13", "127.0.0.1:0", tlslistener.Files{Cert: cert, Key: key, MinVersion: tls.VersionTLS13}, tlslistener.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	startBroker(t, l)
	if c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: ca.Pool(), MaxVersion: tls.VersionTLS12}); err == nil {
		c.Close()
		t.Fatal("a TLS 1.2 client completed a handshake with a TLS 1.3-only listener")
	}
	c, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{RootCAs: ca.Pool()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v := c.ConnectionState().Version; v != tls.VersionTLS13 {
		t.Errorf("negotiated %x, want TLS 1.3", v)
	}
}
