package bolt

import (
	"bytes"
	"context"

	bbolt "go.etcd.io/bbolt"
)

// Range reads at most this many entries, or about this many bytes, per read
// transaction before it calls fn for them.
const (
	scanChunk      = 128
	scanChunkBytes = 1 << 20
)

// scan calls visit for the entries of the bucket pick returns (nothing if
// it returns nil), in key order, until visit returns false. Entries are
// decoded inside a read transaction, a chunk at a time, and visit runs
// between transactions, so it may write to the store. With buckets, scan
// visits the nested buckets' names (decode gets a nil value); otherwise it
// skips them.
func scan[T any](ctx context.Context, s *Store, pick func(*bbolt.Tx) *bbolt.Bucket, buckets bool,
	decode func(k, v []byte) (T, error), visit func(T) bool) error {
	var (
		chunk   []T
		after   []byte // the last key read
		started bool
	)
	for {
		chunk = chunk[:0]
		more := false
		err := s.view(ctx, func(tx *bbolt.Tx) error {
			b := pick(tx)
			if b == nil {
				return nil
			}
			c := b.Cursor()
			var k, v []byte
			if !started {
				k, v = c.First()
			} else if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
			size := 0
			for ; k != nil; k, v = c.Next() {
				if (v == nil) != buckets {
					continue
				}
				if len(chunk) == scanChunk || size >= scanChunkBytes {
					more = true
					break
				}
				t, err := decode(k, v)
				if err != nil {
					return err
				}
				chunk = append(chunk, t)
				size += len(k) + len(v)
				after, started = append(after[:0], k...), true
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, t := range chunk {
			if !visit(t) {
				return nil
			}
		}
		if !more {
			return nil
		}
	}
}

// topBucket returns a pick function for a top-level bucket.
func topBucket(name []byte) func(*bbolt.Tx) *bbolt.Bucket {
	return func(tx *bbolt.Tx) *bbolt.Bucket { return tx.Bucket(name) }
}

// nestedBucket returns a pick function for the bucket key inside the
// top-level bucket name.
func nestedBucket(name []byte, key string) func(*bbolt.Tx) *bbolt.Bucket {
	return func(tx *bbolt.Tx) *bbolt.Bucket { return tx.Bucket(name).Bucket([]byte(key)) }
}
