package broker_test

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// needTool skips when a command is missing locally; in CI (CI=true) a
// missing tool is a failure, since .ci/run installs it.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s not installed: %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// TestMosquittoClients runs Debian's mosquitto_sub and mosquitto_pub against
// the broker, at MQTT 3.1.1 and 5.
func TestMosquittoClients(t *testing.T) {
	subBin := needTool(t, "mosquitto_sub")
	pubBin := needTool(t, "mosquitto_pub")
	b, addr := startBroker(t)
	host, port, _ := strings.Cut(addr, ":")
	for _, v := range []string{"mqttv311", "mqttv5"} {
		t.Run(v, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			// The previous subtest's subscriber is gone before this one starts.
			checkFor(t, 10*time.Second, func() error {
				if n := b.Stats().Subscriptions; n != 0 {
					return errorf("%d subscriptions left", n)
				}
				return nil
			})
			before := 0
			sub := exec.CommandContext(ctx, subBin, "-h", host, "-p", port, "-V", v, "-t", "mq/"+v+"/#", "-q", "1", "-C", "2", "-v")
			var out strings.Builder
			sub.Stdout = &out
			sub.Stderr = &out
			if err := sub.Start(); err != nil {
				t.Fatal(err)
			}
			checkFor(t, 10*time.Second, func() error {
				if b.Stats().Subscriptions <= before {
					return errorf("mosquitto_sub not subscribed yet")
				}
				return nil
			})
			for _, msg := range []string{"hello", "world"} {
				pub := exec.CommandContext(ctx, pubBin, "-h", host, "-p", port, "-V", v, "-t", "mq/"+v+"/x", "-q", "1", "-m", msg)
				if o, err := pub.CombinedOutput(); err != nil {
					t.Fatalf("mosquitto_pub: %v: %s", err, o)
				}
			}
			if err := sub.Wait(); err != nil {
				t.Fatalf("mosquitto_sub: %v: %s", err, out.String())
			}
			want := "mq/" + v + "/x hello\nmq/" + v + "/x world\n"
			if out.String() != want {
				t.Fatalf("mosquitto_sub printed %q, want %q", out.String(), want)
			}
		})
	}
}
