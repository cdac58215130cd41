package bolt

import (
	"context"
	"github.com/ternmq/broker/storage/internal/record"

	bbolt "go.etcd.io/bbolt"

	"github.com/ternmq/broker/storage"
)

// retainedStore is the Store seen as a storage.RetainedStore.
type retainedStore Store

// Set stores m, replacing the retained message of its topic.
func (rs *retainedStore) Set(ctx context.Context, m *storage.Message) error {
	if err := checkKey("topic", m.Topic); err != nil {
		return err
	}
	v := record.EncodeRetained(m)
	if err := checkValue("retained message", v); err != nil {
		return err
	}
	return (*Store)(rs).update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketRetained).Put([]byte(m.Topic), v)
	})
}

// Delete removes the retained message of topic, or returns
// storage.ErrNotFound.
func (rs *retainedStore) Delete(ctx context.Context, topic string) error {
	return (*Store)(rs).update(ctx, func(tx *bbolt.Tx) error {
		return deleteKey(tx.Bucket(bucketRetained), []byte(topic))
	})
}

// Get returns the retained message of topic, or storage.ErrNotFound.
func (rs *retainedStore) Get(ctx context.Context, topic string) (*storage.Message, error) {
	var m *storage.Message
	err := (*Store)(rs).view(ctx, func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketRetained).Get([]byte(topic))
		if v == nil {
			return storage.ErrNotFound
		}
		var err error
		m, err = record.DecodeRetained([]byte(topic), v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Range calls fn for every retained message, in topic order, until fn
// returns false.
func (rs *retainedStore) Range(ctx context.Context, fn func(*storage.Message) bool) error {
	return scan(ctx, (*Store)(rs), topBucket(bucketRetained), false, record.DecodeRetained, fn)
}
