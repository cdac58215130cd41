package file_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth/file"
	"github.com/ternmq/broker/internal/authtest"
)

// TestPahoSubscribeFailure is the Paho interoperability suite's
// test_subscribe_failure (paho.mqtt.testing, client_test.py) with Paho's
// Go clients: an anonymous client subscribing to test/nosubscribe at QoS 2
// gets the SUBACK failure 0x80 over MQTT 3.1.1 [MQTT-3.9.3-2] and Not
// authorized 0x87 over MQTT 5 [MQTT-3.9.3], from an ACL file whose
// anonymous section grants everything but that topic. The suite's other
// topics stay usable.
func TestPahoSubscribeFailure(t *testing.T) {
	path := filepath.Join(t.TempDir(), "acl")
	if err := os.WriteFile(path, []byte("topic readwrite #\ntopic deny test/nosubscribe\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	acl, err := file.LoadACL(path)
	if err != nil {
		t.Fatal(err)
	}
	_, addr := authtest.StartTern(t, broker.WithAuthorizer(acl))
	for _, c := range []struct {
		v    authtest.Version
		want byte
	}{{authtest.V311, 0x80}, {authtest.V5, 0x87}} {
		t.Run("v"+c.v.String(), func(t *testing.T) {
			cl, _, err := authtest.Connect(c.v, addr, authtest.Login{ClientID: "myclientid"})
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			code, err := cl.Subscribe("test/nosubscribe", 2)
			if err != nil {
				t.Fatal(err)
			}
			if code != c.want {
				t.Errorf("SUBACK 0x%02x, want 0x%02x", code, c.want)
			}
			if code, err := cl.Subscribe("TopicA/#", 2); err != nil || code != 2 {
				t.Errorf("TopicA/#: SUBACK 0x%02x %v, want 0x02", code, err)
			}
			if _, err := cl.Publish("TopicA/B", "hello", false); err != nil {
				t.Fatal(err)
			}
			if _, err := authtest.Await(cl, "hello"); err != nil {
				t.Error(err)
			}
		})
	}
}
