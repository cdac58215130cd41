package bolt

import (
	"context"
	"github.com/ternmq/broker/storage/internal/record"

	bbolt "go.etcd.io/bbolt"

	"github.com/ternmq/broker/storage"
)

// willStore is the Store seen as a storage.WillStore.
type willStore Store

// Set stores w as the client's will, replacing the previous one.
func (ws *willStore) Set(ctx context.Context, clientID string, w *storage.Will) error {
	if err := checkKey("client id", clientID); err != nil {
		return err
	}
	v := record.EncodeWill(w)
	if err := checkValue("will", v); err != nil {
		return err
	}
	return (*Store)(ws).update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketWills).Put([]byte(clientID), v)
	})
}

// Get returns the client's will, or storage.ErrNotFound.
func (ws *willStore) Get(ctx context.Context, clientID string) (*storage.Will, error) {
	var w *storage.Will
	err := (*Store)(ws).view(ctx, func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketWills).Get([]byte(clientID))
		if v == nil {
			return storage.ErrNotFound
		}
		var err error
		w, err = record.DecodeWill([]byte(clientID), v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return w, nil
}

// Delete removes the client's will, or returns storage.ErrNotFound.
func (ws *willStore) Delete(ctx context.Context, clientID string) error {
	return (*Store)(ws).update(ctx, func(tx *bbolt.Tx) error {
		return deleteKey(tx.Bucket(bucketWills), []byte(clientID))
	})
}

// willEntry is a will with its client id, as scan yields it.
type willEntry struct {
	clientID string
	w        *storage.Will
}

// Range calls fn for every will, in client id order, until fn returns
// false.
func (ws *willStore) Range(ctx context.Context, fn func(clientID string, w *storage.Will) bool) error {
	return scan(ctx, (*Store)(ws), topBucket(bucketWills), false,
		func(k, v []byte) (willEntry, error) {
			w, err := record.DecodeWill(k, v)
			return willEntry{string(k), w}, err
		},
		func(e willEntry) bool { return fn(e.clientID, e.w) })
}
