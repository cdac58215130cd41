package broker_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/packets"
)

// TestStressQoS1NoLoss: 1,000 clients (500 publisher/subscriber pairs),
// 100,000 QoS 1 messages, every one delivered in order; after Close no
// goroutine of the broker remains.
func TestStressQoS1NoLoss(t *testing.T) {
	const pairs, perPub = 500, 200
	baseline := runtime.NumGoroutine()
	l, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := broker.New(broker.WithListener(l), broker.WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()

	dial := func(id string) (net.Conn, *packets.Reader) {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		r := packets.NewReader(nc, 0)
		out, _ := (&packets.Connect{Version: packets.V311, ClientID: []byte(id), CleanStart: true}).Append(nil, packets.V311)
		if _, err := nc.Write(out); err != nil {
			t.Fatal(err)
		}
		if fh, _, err := r.Next(); err != nil || fh.Type != packets.CONNACK {
			t.Fatalf("connect %s: %v %v", id, fh.Type, err)
		}
		return nc, r
	}
	subs := make([]net.Conn, pairs)
	readers := make([]*packets.Reader, pairs)
	for i := range pairs {
		subs[i], readers[i] = dial(fmt.Sprintf("s%d", i))
		out, _ := (&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: []byte(fmt.Sprintf("stress/%d", i)), QoS: 1}}}).Append(nil, packets.V311)
		if _, err := subs[i].Write(out); err != nil {
			t.Fatal(err)
		}
		if fh, _, err := readers[i].Next(); err != nil || fh.Type != packets.SUBACK {
			t.Fatalf("subscribe: %v %v", fh.Type, err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*pairs)
	for i := range pairs {
		wg.Go(func() { // subscriber: expect perPub messages in order, ack each
			nc, r := subs[i], readers[i]
			_ = nc.SetDeadline(time.Now().Add(60 * time.Second))
			var acks []byte
			for n := 0; n < perPub; n++ {
				fh, body, err := r.Next()
				if err != nil {
					errs <- fmt.Errorf("sub %d after %d: %w", i, n, err)
					return
				}
				var p packets.Publish
				if err := p.Decode(fh.Flags, body, packets.V311); err != nil {
					errs <- err
					return
				}
				if got := binary.BigEndian.Uint32(p.Payload); got != uint32(n) {
					errs <- fmt.Errorf("sub %d: message %d arrived as #%d", i, got, n)
					return
				}
				acks, _ = (&packets.Ack{Kind: packets.PUBACK, PacketID: p.PacketID}).Append(acks[:0], packets.V311)
				if _, err := nc.Write(acks); err != nil {
					errs <- err
					return
				}
			}
		})
		wg.Go(func() { // publisher: send all, then count PUBACKs
			nc, r := dial(fmt.Sprintf("p%d", i))
			defer nc.Close()
			_ = nc.SetDeadline(time.Now().Add(60 * time.Second))
			var out []byte
			payload := make([]byte, 16)
			for n := range perPub {
				binary.BigEndian.PutUint32(payload, uint32(n))
				out, _ = (&packets.Publish{QoS: 1, PacketID: uint16(n + 1), Topic: []byte(fmt.Sprintf("stress/%d", i)), Payload: payload}).Append(out, packets.V311)
			}
			if _, err := nc.Write(out); err != nil {
				errs <- err
				return
			}
			for n := range perPub {
				if fh, _, err := r.Next(); err != nil || fh.Type != packets.PUBACK {
					errs <- fmt.Errorf("pub %d: PUBACK %d: %v %v", i, n, fh.Type, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if st := b.Stats(); st.MessagesReceived != pairs*perPub || st.Dropped != 0 {
		t.Fatalf("received %d (want %d), dropped %d", st.MessagesReceived, pairs*perPub, st.Dropped)
	}
	for _, nc := range subs {
		_ = nc.Close()
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, func() error {
		if n := runtime.NumGoroutine(); n > baseline {
			return fmt.Errorf("%d goroutines after Close, %d before", n, baseline)
		}
		return nil
	})
}
