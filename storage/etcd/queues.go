package etcd

import (
	"context"
	"encoding/binary"
	"fmt"
	"strconv"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/ternmq/broker/storage"
	"github.com/ternmq/broker/storage/internal/record"
)

// queues implements storage.QueueStore: entries under
// queues/<id>/<seq as 16 hex digits>, so that key order is sequence
// order, and the last sequence handed out under seq/<id>, which Clear
// keeps so numbers are never reused.
type queues struct{ s *Store }

func (st queues) prefix(clientID string) string {
	return st.s.key("queues/", escape(clientID), "/")
}

func (st queues) entryKey(clientID string, seq uint64) string {
	return fmt.Sprintf("%s%016x", st.prefix(clientID), seq)
}

func (st queues) seqKey(clientID string) string { return st.s.key("seq/", escape(clientID)) }

// Append allocates the next sequence number and writes the entry in one
// transaction that compares the seq key's ModRevision with the one last
// seen; when another writer got there first, the transaction returns the
// current seq key and Append tries again with it. With a current hint
// (this Store appended last) an Append is one round trip.
func (st queues) Append(ctx context.Context, clientID string, m *storage.Message) (uint64, error) {
	s := st.s
	if err := s.begin(ctx); err != nil {
		return 0, err
	}
	val := record.EncodeQueued(m)
	seqKey := st.seqKey(clientID)
	if err := s.checkSize("append", st.entryKey(clientID, 0), val); err != nil {
		return 0, err
	}
	s.mu.Lock()
	hint := s.seqs[clientID]
	s.mu.Unlock()
	for {
		next := hint.seq + 1
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(seqKey), "=", hint.rev)).
			Then(
				clientv3.OpPut(seqKey, string(binary.BigEndian.AppendUint64(nil, next))),
				clientv3.OpPut(st.entryKey(clientID, next), string(val)),
			).
			Else(clientv3.OpGet(seqKey)).
			Commit()
		if err != nil {
			return 0, s.wrap(ctx, "append", err)
		}
		if resp.Succeeded {
			s.remember(clientID, seqState{seq: next, rev: resp.Header.Revision})
			return next, nil
		}
		hint = seqState{}
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			if len(kvs[0].Value) != 8 {
				return 0, fmt.Errorf("etcd: append: seq key %q holds %d bytes, not 8", seqKey, len(kvs[0].Value))
			}
			hint = seqState{seq: binary.BigEndian.Uint64(kvs[0].Value), rev: kvs[0].ModRevision}
		}
		if err := s.begin(ctx); err != nil {
			return 0, err
		}
	}
}

// remember keeps st as the client's seq hint unless a newer one is known.
func (s *Store) remember(clientID string, st seqState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.seqs[clientID]; ok && old.rev >= st.rev {
		return
	}
	if len(s.seqs) >= maxSeqHints {
		clear(s.seqs)
	}
	s.seqs[clientID] = st
}

// Update patches the state and packet id of the stored entry and writes
// it back only if it was not changed or removed in between (a compare on
// its ModRevision), retrying otherwise.
func (st queues) Update(ctx context.Context, clientID string, q *storage.Queued) error {
	s := st.s
	if err := s.begin(ctx); err != nil {
		return err
	}
	key := st.entryKey(clientID, q.Seq)
	for {
		kv, err := s.get(ctx, "update", key)
		if err != nil {
			return err
		}
		if kv == nil {
			return fmt.Errorf("etcd: update entry %d of %q: %w", q.Seq, clientID, storage.ErrNotFound)
		}
		v := kv.Value
		if len(v) < record.QueuedMessageAt || v[0] != record.FormatV1 {
			return fmt.Errorf("etcd: update entry %d of %q: %w", q.Seq, clientID, record.ErrVersion)
		}
		v[record.QueuedStateAt] = q.State
		binary.BigEndian.PutUint16(v[record.QueuedPacketIDAt:], q.PacketID)
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(key), "=", kv.ModRevision)).
			Then(clientv3.OpPut(key, string(v))).
			Commit()
		if err != nil {
			return s.wrap(ctx, "update", err)
		}
		if resp.Succeeded {
			return nil
		}
		if err := s.begin(ctx); err != nil {
			return err
		}
	}
}

func (st queues) Remove(ctx context.Context, clientID string, seq uint64) error {
	if err := st.s.begin(ctx); err != nil {
		return err
	}
	return st.s.del(ctx, fmt.Sprintf("remove entry %d of %q", seq, clientID), st.entryKey(clientID, seq), false)
}

func (st queues) Range(ctx context.Context, clientID string, fn func(*storage.Queued) bool) error {
	pfx := st.prefix(clientID)
	return st.s.scan(ctx, "range queue", pfx, func(kv *mvccpb.KeyValue) (bool, error) {
		seq, err := strconv.ParseUint(string(kv.Key[len(pfx):]), 16, 64)
		if err != nil {
			return false, fmt.Errorf("queue key %q: %w", kv.Key, err)
		}
		q, err := record.DecodeQueued(seq, kv.Value)
		if err != nil {
			return false, err
		}
		return fn(q), nil
	})
}

func (st queues) Clear(ctx context.Context, clientID string) error {
	if err := st.s.begin(ctx); err != nil {
		return err
	}
	return st.s.del(ctx, "clear queue", st.prefix(clientID), true)
}

// maxTxnOps keeps a transaction under etcd's default limit of 128 operations.
const maxTxnOps = 100

// AppendBatch appends entries with one transaction per client and chunk
// (instead of one per entry), each allocating that client's sequence numbers
// like Append does.
func (s *Store) AppendBatch(ctx context.Context, entries []storage.QueueAppend) ([]uint64, error) {
	st := queues{s}
	seqs := make([]uint64, len(entries))
	done := make([]bool, len(entries))
	for i := range entries {
		if done[i] {
			continue
		}
		client := entries[i].ClientID
		var idx []int
		for j := i; j < len(entries) && len(idx) < maxTxnOps-1; j++ {
			if !done[j] && entries[j].ClientID == client {
				idx = append(idx, j)
			}
		}
		if err := st.appendMany(ctx, client, entries, idx, seqs); err != nil {
			return nil, err
		}
		for _, j := range idx {
			done[j] = true
		}
	}
	return seqs, nil
}

// appendMany appends entries[idx] (all of client) in one transaction.
func (st queues) appendMany(ctx context.Context, client string, entries []storage.QueueAppend, idx []int, seqs []uint64) error {
	s := st.s
	if err := s.begin(ctx); err != nil {
		return err
	}
	vals := make([]string, len(idx))
	for k, j := range idx {
		v := record.EncodeQueued(entries[j].Message)
		if err := s.checkSize("append", st.entryKey(client, 0), v); err != nil {
			return err
		}
		vals[k] = string(v)
	}
	seqKey := st.seqKey(client)
	s.mu.Lock()
	hint := s.seqs[client]
	s.mu.Unlock()
	for {
		ops := make([]clientv3.Op, 0, len(idx)+1)
		for k := range idx {
			ops = append(ops, clientv3.OpPut(st.entryKey(client, hint.seq+1+uint64(k)), vals[k]))
		}
		last := hint.seq + uint64(len(idx))
		ops = append(ops, clientv3.OpPut(seqKey, string(binary.BigEndian.AppendUint64(nil, last))))
		resp, err := s.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.ModRevision(seqKey), "=", hint.rev)).
			Then(ops...).
			Else(clientv3.OpGet(seqKey)).
			Commit()
		if err != nil {
			return s.wrap(ctx, "append", err)
		}
		if resp.Succeeded {
			for k, j := range idx {
				seqs[j] = hint.seq + 1 + uint64(k)
			}
			s.remember(client, seqState{seq: last, rev: resp.Header.Revision})
			return nil
		}
		hint = seqState{}
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			if len(kvs[0].Value) != 8 {
				return fmt.Errorf("etcd: append: seq key %q holds %d bytes, not 8", seqKey, len(kvs[0].Value))
			}
			hint = seqState{seq: binary.BigEndian.Uint64(kvs[0].Value), rev: kvs[0].ModRevision}
		}
		if err := s.begin(ctx); err != nil {
			return err
		}
	}
}

// RemoveBatch deletes the client's entries seqs, maxTxnOps per transaction;
// entries already gone are ignored.
func (s *Store) RemoveBatch(ctx context.Context, clientID string, seqs []uint64) error {
	st := queues{s}
	for len(seqs) > 0 {
		if err := s.begin(ctx); err != nil {
			return err
		}
		n := min(len(seqs), maxTxnOps)
		ops := make([]clientv3.Op, n)
		for k, seq := range seqs[:n] {
			ops[k] = clientv3.OpDelete(st.entryKey(clientID, seq))
		}
		if _, err := s.cli.Txn(ctx).Then(ops...).Commit(); err != nil {
			return s.wrap(ctx, "remove", err)
		}
		seqs = seqs[n:]
	}
	return nil
}
