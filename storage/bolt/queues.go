package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"github.com/ternmq/broker/storage/internal/record"

	bbolt "go.etcd.io/bbolt"

	"github.com/ternmq/broker/storage"
)

// queueStore is the Store seen as a storage.QueueStore.
type queueStore Store

// queueFill is the fill percent of queue pages: keys only ever grow at the
// tail, so pages split full rather than half empty.
const queueFill = 0.9

// seqKey is the key of queue entry seq: big-endian, so keys sort by seq.
func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(make([]byte, 0, 8), seq) }

// Append stores m at the tail of the client's queue. The client's bucket
// is created on first use, its sequence starting where cleared queues
// left the queues bucket's.
func (qs *queueStore) Append(ctx context.Context, clientID string, m *storage.Message) (uint64, error) {
	if err := checkKey("client id", clientID); err != nil {
		return 0, err
	}
	v := record.EncodeQueued(m)
	if err := checkValue("queue entry", v); err != nil {
		return 0, err
	}
	var seq uint64
	err := (*Store)(qs).update(ctx, func(tx *bbolt.Tx) error {
		queues := tx.Bucket(bucketQueues)
		b := queues.Bucket([]byte(clientID))
		if b == nil {
			var err error
			if b, err = queues.CreateBucket([]byte(clientID)); err != nil {
				return err
			}
			if err := b.SetSequence(queues.Sequence()); err != nil {
				return err
			}
		}
		b.FillPercent = queueFill
		var err error
		if seq, err = b.NextSequence(); err != nil {
			return err
		}
		return b.Put(seqKey(seq), v)
	})
	if err != nil {
		return 0, err
	}
	return seq, nil
}

// Update stores u.PacketID and u.State in the entry u.Seq, or returns
// storage.ErrNotFound.
func (qs *queueStore) Update(ctx context.Context, clientID string, u *storage.Queued) error {
	key := seqKey(u.Seq)
	state, packetID := u.State, u.PacketID
	return (*Store)(qs).update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketQueues).Bucket([]byte(clientID))
		if b == nil {
			return storage.ErrNotFound
		}
		old := b.Get(key)
		if old == nil {
			return storage.ErrNotFound
		}
		if len(old) < record.QueuedMessageAt || old[0] != record.FormatV1 {
			return fmt.Errorf("queue entry %d of %q: not a version %d entry", u.Seq, clientID, record.FormatV1)
		}
		// old belongs to bbolt; patch a copy.
		v := append([]byte(nil), old...)
		v[record.QueuedStateAt] = state
		binary.BigEndian.PutUint16(v[record.QueuedPacketIDAt:], packetID)
		return b.Put(key, v)
	})
}

// Remove deletes the entry seq, or returns storage.ErrNotFound.
func (qs *queueStore) Remove(ctx context.Context, clientID string, seq uint64) error {
	key := seqKey(seq)
	return (*Store)(qs).update(ctx, func(tx *bbolt.Tx) error {
		return deleteKey(tx.Bucket(bucketQueues).Bucket([]byte(clientID)), key)
	})
}

// Range calls fn for the client's entries in sequence order until fn
// returns false.
func (qs *queueStore) Range(ctx context.Context, clientID string, fn func(*storage.Queued) bool) error {
	return scan(ctx, (*Store)(qs), nestedBucket(bucketQueues, clientID), false,
		func(k, v []byte) (*storage.Queued, error) {
			if len(k) != 8 {
				return nil, fmt.Errorf("queue of %q: key %x is not a sequence number", clientID, k)
			}
			return record.DecodeQueued(binary.BigEndian.Uint64(k), v)
		}, fn)
}

// Clear deletes the client's queue, first raising the queues bucket's
// sequence to the client's so a new queue continues above it.
func (qs *queueStore) Clear(ctx context.Context, clientID string) error {
	return (*Store)(qs).update(ctx, func(tx *bbolt.Tx) error {
		queues := tx.Bucket(bucketQueues)
		b := queues.Bucket([]byte(clientID))
		if b == nil {
			return nil
		}
		if b.Sequence() > queues.Sequence() {
			if err := queues.SetSequence(b.Sequence()); err != nil {
				return err
			}
		}
		return queues.DeleteBucket([]byte(clientID))
	})
}

// AppendBatch appends every entry in one write transaction (so one fsync in
// SyncAlways, one batch in SyncBatch) and returns their sequence numbers.
func (s *Store) AppendBatch(ctx context.Context, entries []storage.QueueAppend) ([]uint64, error) {
	vals := make([][]byte, len(entries))
	for i, e := range entries {
		if err := checkKey("client id", e.ClientID); err != nil {
			return nil, err
		}
		vals[i] = record.EncodeQueued(e.Message)
		if err := checkValue("queue entry", vals[i]); err != nil {
			return nil, err
		}
	}
	seqs := make([]uint64, len(entries))
	err := s.update(ctx, func(tx *bbolt.Tx) error {
		queues := tx.Bucket(bucketQueues)
		for i, e := range entries {
			b := queues.Bucket([]byte(e.ClientID))
			if b == nil {
				var err error
				if b, err = queues.CreateBucket([]byte(e.ClientID)); err != nil {
					return err
				}
				if err := b.SetSequence(queues.Sequence()); err != nil {
					return err
				}
			}
			b.FillPercent = queueFill
			seq, err := b.NextSequence()
			if err != nil {
				return err
			}
			if err := b.Put(seqKey(seq), vals[i]); err != nil {
				return err
			}
			seqs[i] = seq
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return seqs, nil
}

// RemoveBatch removes the client's entries seqs in one write transaction;
// entries already gone are ignored.
func (s *Store) RemoveBatch(ctx context.Context, clientID string, seqs []uint64) error {
	return s.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketQueues).Bucket([]byte(clientID))
		if b == nil {
			return nil
		}
		for _, seq := range seqs {
			if err := b.Delete(seqKey(seq)); err != nil {
				return err
			}
		}
		return nil
	})
}
