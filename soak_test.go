package broker_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/ternmq/broker"
)

// TestSoak runs mixed traffic for TERN_SOAK (for example "10m"; `make
// soak`), not in CI: connection churn with wills, takeovers, QoS 0, 1 and
// 2, retained messages, a consumer that never reads and a publisher that
// never pauses. At the end every QoS 1 and 2 message whose PUBACK or
// PUBCOMP the publisher got has reached the durable subscriber, and the
// broker's goroutines and memory are back near where they started.
func TestSoak(t *testing.T) {
	d, err := time.ParseDuration(os.Getenv("TERN_SOAK"))
	if err != nil || d <= 0 {
		t.Skip("set TERN_SOAK=10m (make soak) to run the soak test")
	}
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	goroutinesBefore := runtime.NumGoroutine()

	b, addr := startBroker(t, broker.WithSysInterval(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()

	// The durable subscriber counts what it gets, by publisher and sequence.
	expiry := uint32(3600)
	var mu sync.Mutex
	got := map[string]bool{}
	sub := paho.NewClient(paho.ClientConfig{Conn: mustDial(t, addr), OnPublishReceived: []func(paho.PublishReceived) (bool, error){
		func(r paho.PublishReceived) (bool, error) {
			mu.Lock()
			got[string(r.Packet.Payload)] = true
			mu.Unlock()
			return true, nil
		},
	}})
	if _, err := sub.Connect(ctx10(t), &paho.Connect{ClientID: "soak-sub", KeepAlive: 30, Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry}}); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Subscribe(ctx10(t), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: "soak/q/#", QoS: 2}}}); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	var ackMu sync.Mutex
	acked := map[string]bool{}
	// QoS 1 and 2 publishers.
	for _, qos := range []byte{1, 2} {
		wg.Go(func() {
			c := paho.NewClient(paho.ClientConfig{Conn: mustDial(t, addr)})
			if _, err := c.Connect(ctx, &paho.Connect{ClientID: fmt.Sprintf("soak-pub%d", qos), CleanStart: true, KeepAlive: 30}); err != nil {
				return
			}
			defer c.Disconnect(&paho.Disconnect{})
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("q%d-%d", qos, i)
				if _, err := c.Publish(ctx, &paho.Publish{Topic: "soak/q/" + strconv.Itoa(i%10), QoS: qos, Payload: []byte(id)}); err == nil {
					ackMu.Lock()
					acked[id] = true
					ackMu.Unlock()
				}
			}
		})
	}
	// Connection churn, with wills (half the clients vanish without
	// DISCONNECT), retained updates and takeovers of one identifier.
	wg.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				continue
			}
			c := paho.NewClient(paho.ClientConfig{Conn: nc})
			id := fmt.Sprintf("churn-%d", i%50)
			if i%7 == 0 {
				id = "taker" // takeover
			}
			cctx, ccancel := context.WithTimeout(ctx, 5*time.Second)
			_, err = c.Connect(cctx, &paho.Connect{ClientID: id, CleanStart: i%2 == 0, KeepAlive: 30,
				WillMessage: &paho.WillMessage{Topic: "soak/will/" + id, Payload: []byte("gone")}})
			if err == nil {
				_, _ = c.Publish(cctx, &paho.Publish{Topic: "soak/r/" + strconv.Itoa(i%100), QoS: 1, Retain: true, Payload: []byte(strconv.Itoa(i))})
				if i%2 == 0 {
					_ = c.Disconnect(&paho.Disconnect{})
				}
			}
			ccancel()
			_ = nc.Close()
		}
	})
	// A consumer that subscribes to everything and never reads.
	wg.Go(func() {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			return
		}
		defer nc.Close()
		c := dialRawConn(t, nc)
		c.connect(connectPacket("soak-deaf", true), 0)
		c.subscribe(1, "soak/#", 0)
		<-ctx.Done()
	})
	// A publisher that never pauses (QoS 0).
	wg.Go(func() {
		c := paho.NewClient(paho.ClientConfig{Conn: mustDial(t, addr)})
		if _, err := c.Connect(ctx, &paho.Connect{ClientID: "soak-stream", CleanStart: true, KeepAlive: 30}); err != nil {
			return
		}
		defer c.Disconnect(&paho.Disconnect{})
		for ctx.Err() == nil {
			_, _ = c.Publish(ctx, &paho.Publish{Topic: "soak/stream", Payload: make([]byte, 100)})
		}
	})
	wg.Wait()

	// Nothing acknowledged is lost.
	ackMu.Lock()
	n := len(acked)
	ackMu.Unlock()
	checkFor(t, time.Minute, func() error {
		mu.Lock()
		defer mu.Unlock()
		missing := 0
		for id := range acked {
			if !got[id] {
				missing++
			}
		}
		if missing > 0 {
			return errorf("%d of %d acknowledged messages not delivered", missing, n)
		}
		return nil
	})
	st := b.Stats()
	t.Logf("soak %v: %d QoS 1/2 messages acknowledged, all delivered; stats %+v", d, n, st)
	_ = sub.Disconnect(&paho.Disconnect{})
	_ = b.Close()

	checkFor(t, 30*time.Second, func() error {
		if g := runtime.NumGoroutine(); g > goroutinesBefore+10 {
			return errorf("%d goroutines, %d before", g, goroutinesBefore)
		}
		return nil
	})
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	t.Logf("heap in use: %d KiB before, %d KiB after", before.HeapInuse>>10, after.HeapInuse>>10)
	if after.HeapInuse > before.HeapInuse+64<<20 {
		t.Errorf("heap grew by %d MiB", (after.HeapInuse-before.HeapInuse)>>20)
	}
}

func mustDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return nc
}
