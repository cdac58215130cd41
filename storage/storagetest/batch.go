package storagetest

import (
	"context"
	"testing"

	"github.com/ternmq/broker/storage"
)

// testQueueBatcher checks the optional QueueBatcher: one batch over several
// clients keeps each client's order, continues its sequence, and reads back
// like single appends.
func testQueueBatcher(t *testing.T, s storage.Store) {
	qb, ok := s.(storage.QueueBatcher)
	if !ok {
		t.Skip("no QueueBatcher")
	}
	ctx := context.Background()
	first, err := s.Queues().Append(ctx, "a", &storage.Message{Topic: "t", Payload: []byte("0"), QoS: 1})
	if err != nil {
		t.Fatal(err)
	}
	entries := []storage.QueueAppend{
		{ClientID: "a", Message: &storage.Message{Topic: "t", Payload: []byte("1"), QoS: 1}},
		{ClientID: "b", Message: &storage.Message{Topic: "t", Payload: []byte("x"), QoS: 2}},
		{ClientID: "a", Message: &storage.Message{Topic: "t", Payload: []byte("2"), QoS: 1}},
	}
	seqs, err := qb.AppendBatch(ctx, entries)
	if err != nil {
		t.Fatal(err)
	}
	if len(seqs) != 3 || seqs[0] <= first || seqs[2] <= seqs[0] {
		t.Fatalf("sequence numbers %v after %d", seqs, first)
	}
	var got []string
	if err := s.Queues().Range(ctx, "a", func(q *storage.Queued) bool {
		got = append(got, string(q.Payload))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0] != "0" || got[1] != "1" || got[2] != "2" {
		t.Fatalf("client a's queue %v, want [0 1 2]", got)
	}
	if err := s.Queues().Remove(ctx, "b", seqs[1]); err != nil {
		t.Fatalf("removing a batch-appended entry: %v", err)
	}
	if err := qb.RemoveBatch(ctx, "a", []uint64{first, seqs[2], seqs[2] + 1000}); err != nil {
		t.Fatalf("RemoveBatch: %v", err)
	}
	got = got[:0]
	if err := s.Queues().Range(ctx, "a", func(q *storage.Queued) bool {
		got = append(got, string(q.Payload))
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "1" {
		t.Fatalf("after RemoveBatch client a's queue is %v, want [1]", got)
	}
	if err := qb.RemoveBatch(ctx, "nobody", []uint64{1}); err != nil {
		t.Fatalf("RemoveBatch of an unknown client: %v", err)
	}
}
