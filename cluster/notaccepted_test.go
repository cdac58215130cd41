package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/ternmq/broker/internal/mqtttest"
	"github.com/ternmq/broker/packets"
)

func TestFailedForwardNotAcknowledged311(t *testing.T) {
	// A 3.1.1 publisher has no reason code: a QoS 1 message whose forward
	// fails (the subscriber's node crashed, its link is down) gets no
	// PUBACK, the connection closes, and the client's resend after it
	// reconnects is delivered [MQTT-4.4.0-1].
	tc := newClusterTTL(t, 3, 2*time.Second)
	y, _ := dial(t, tc.nodes[2].addr, "y", &paho.Connect{CleanStart: true, Properties: &paho.ConnectProperties{SessionExpiryInterval: paho.Uint32(300)}})
	y.subscribe("na/#", 1)
	tc.nodes[2].crash()

	pub := mqtttest.Dial(t, tc.nodes[0].addr)
	pub.Connect(&packets.Connect{ClientID: []byte("p311"), KeepAlive: 60}, packets.Success)
	pub.Send(&packets.Publish{QoS: 1, PacketID: 1, Topic: []byte("na/x"), Payload: []byte("once")})
	pub.ExpectClosed() // and no PUBACK before
	if st := tc.nodes[0].n.Stats(); st.Refused == 0 {
		t.Fatal("no forward refused")
	}

	// Node 2's lease expires; node 0 adopts its persistent session.
	checkFor(t, 10*time.Second, func() error {
		if st := tc.nodes[0].n.Stats(); st.Adopted != 1 || st.Peers != 1 {
			return fmt.Errorf("node 0: %d adopted, %d peers", st.Adopted, st.Peers)
		}
		return nil
	})
	pub = mqtttest.Dial(t, tc.nodes[0].addr)
	pub.Connect(&packets.Connect{ClientID: []byte("p311"), KeepAlive: 60}, packets.Success)
	pub.Send(&packets.Publish{QoS: 1, PacketID: 1, Dup: true, Topic: []byte("na/x"), Payload: []byte("once")})
	if a, ok := pub.Next().(*packets.Ack); !ok || a.Kind != packets.PUBACK || a.PacketID != 1 {
		t.Fatalf("resend: got %v, want PUBACK 1", a)
	}
	y2, ack := dial(t, tc.nodes[1].addr, "y", persistent())
	if !ack.SessionPresent {
		t.Fatal("session not resumed")
	}
	pub.Send(&packets.Publish{QoS: 1, PacketID: 2, Topic: []byte("na/end"), Payload: []byte("end")})
	pub.Next()
	got := y2.until("na/end", "end")
	if len(got) != 1 || string(got[0].Payload) != "once" {
		t.Fatalf("got %d messages before the end marker, want the resent one once", len(got))
	}
}
