package tls_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/internal/testcerts"
	tlslistener "github.com/ternmq/broker/listeners/tls"
)

// needTool skips when a command is missing locally; in CI (CI=true) a
// missing tool is a failure, since make deps installs it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed: %v", name, err)
		}
		t.Skipf("%s not installed (make deps installs it)", name)
	}
	return p
}

// TestMosquittoClientsMTLS: Debian's mosquitto_sub and mosquitto_pub
// (OpenSSL) connect with --cafile/--cert/--key to an mTLS listener whose
// user names come from client certificates, at MQTT 3.1.1 and 5; a message
// goes from one to the other and the authenticator sees each certificate's
// CN as the user name.
func TestMosquittoClientsMTLS(t *testing.T) {
	subBin, pubBin := needTool(t, "mosquitto_sub"), needTool(t, "mosquitto_pub")
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "tern-test")
	caFile := ca.WriteFile(t, dir)
	serverCert, serverKey := ca.Server(t).WriteFiles(t, dir, "server")
	subCert, subKey := ca.Client(t, "sensor-sub").WriteFiles(t, dir, "sub")
	pubCert, pubKey := ca.Client(t, "sensor-pub").WriteFiles(t, dir, "pub")

	l, err := tlslistener.NewFromFiles("mtls", "127.0.0.1:0",
		tlslistener.Files{Cert: serverCert, Key: serverKey, ClientCA: caFile, ClientAuth: tls.RequireAndVerifyClientCert},
		tlslistener.WithIdentity(tlslistener.IdentityCN), tlslistener.WithLogger(quiet()))
	if err != nil {
		t.Fatal(err)
	}
	auth := &authRecorder{}
	b := startBroker(t, l, broker.WithAuthenticator(auth))
	host, port, _ := strings.Cut(l.Addr().String(), ":")
	tlsArgs := func(cert, key string) []string {
		return []string{"-h", host, "-p", port, "--cafile", caFile, "--cert", cert, "--key", key}
	}

	for _, v := range []string{"mqttv311", "mqttv5"} {
		t.Run(v, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			checkFor(t, 10*time.Second, func() error {
				if n := b.Stats().Subscriptions; n != 0 {
					return fmt.Errorf("%d subscriptions left from before", n)
				}
				return nil
			})
			subID, pubID := "sub-"+v, "pub-"+v
			args := append(tlsArgs(subCert, subKey), "-V", v, "-i", subID, "-t", "mtls/"+v, "-q", "1", "-C", "1", "-v", "-u", "claimed-name")
			sub := exec.CommandContext(ctx, subBin, args...)
			var out strings.Builder
			sub.Stdout, sub.Stderr = &out, &out
			if err := sub.Start(); err != nil {
				t.Fatal(err)
			}
			checkFor(t, 10*time.Second, func() error {
				if b.Stats().Subscriptions == 0 {
					return fmt.Errorf("mosquitto_sub not subscribed yet: %s", out.String())
				}
				return nil
			})
			args = append(tlsArgs(pubCert, pubKey), "-V", v, "-i", pubID, "-t", "mtls/"+v, "-q", "1", "-m", "over mTLS")
			if o, err := exec.CommandContext(ctx, pubBin, args...).CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_pub: %v: %s", err, o)
			}
			if err := sub.Wait(); err != nil {
				t.Fatalf("mosquitto_sub: %v: %s", err, out.String())
			}
			if want := "mtls/" + v + " over mTLS\n"; out.String() != want {
				t.Errorf("mosquitto_sub printed %q, want %q", out.String(), want)
			}
			for id, want := range map[string]string{subID: "sensor-sub", pubID: "sensor-pub"} {
				if c, _ := auth.get(id); c.Username != want {
					t.Errorf("%s: Credentials.Username = %q, want the certificate's CN %q", id, c.Username, want)
				}
			}
		})
	}
}

// TestMosquittoClientWithoutCertificateRefused: mosquitto_pub without a
// client certificate cannot connect to an mTLS listener.
func TestMosquittoClientWithoutCertificateRefused(t *testing.T) {
	pubBin := needTool(t, "mosquitto_pub")
	dir := t.TempDir()
	ca := testcerts.NewCA(t, "tern-test")
	caFile := ca.WriteFile(t, dir)
	serverCert, serverKey := ca.Server(t).WriteFiles(t, dir, "server")
	logs := &logBuffer{}
	l, err := tlslistener.NewFromFiles("mtls", "127.0.0.1:0",
		tlslistener.Files{Cert: serverCert, Key: serverKey, ClientCA: caFile, ClientAuth: tls.RequireAndVerifyClientCert},
		tlslistener.WithLogger(logs.logger()))
	if err != nil {
		t.Fatal(err)
	}
	startBroker(t, l)
	host, port, _ := strings.Cut(l.Addr().String(), ":")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	o, err := exec.CommandContext(ctx, pubBin, "-h", host, "-p", port, "--cafile", caFile, "-t", "x", "-m", "y").CombinedOutput()
	if err == nil {
		t.Fatalf("mosquitto_pub connected without a client certificate: %s", o)
	}
	checkFor(t, 5*time.Second, func() error {
		if s := logs.String(); !strings.Contains(s, "didn't provide a certificate") {
			return fmt.Errorf("log %q does not say the client sent no certificate", s)
		}
		return nil
	})
	noHandshakeLeft(t)
}
