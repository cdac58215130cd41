package bolt

import (
	"context"
	"github.com/ternmq/broker/storage/internal/record"

	bbolt "go.etcd.io/bbolt"

	"github.com/ternmq/broker/storage"
)

// sessionStore is the Store seen as a storage.SessionStore.
type sessionStore Store

// Get returns the client's session, or storage.ErrNotFound.
func (ss *sessionStore) Get(ctx context.Context, clientID string) (*storage.Session, error) {
	var st *storage.Session
	err := (*Store)(ss).view(ctx, func(tx *bbolt.Tx) error {
		v := tx.Bucket(bucketSessions).Get([]byte(clientID))
		if v == nil {
			return storage.ErrNotFound
		}
		var err error
		st, err = record.DecodeSession([]byte(clientID), v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// Save stores st, replacing the client's previous session.
func (ss *sessionStore) Save(ctx context.Context, st *storage.Session) error {
	if err := checkKey("client id", st.ClientID); err != nil {
		return err
	}
	v := record.EncodeSession(st)
	return (*Store)(ss).update(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketSessions).Put([]byte(st.ClientID), v)
	})
}

// Delete removes the client's session, or returns storage.ErrNotFound.
func (ss *sessionStore) Delete(ctx context.Context, clientID string) error {
	return (*Store)(ss).update(ctx, func(tx *bbolt.Tx) error {
		return deleteKey(tx.Bucket(bucketSessions), []byte(clientID))
	})
}

// Range calls fn for every session, in client id order, until fn returns
// false.
func (ss *sessionStore) Range(ctx context.Context, fn func(*storage.Session) bool) error {
	return scan(ctx, (*Store)(ss), topBucket(bucketSessions), false, record.DecodeSession, fn)
}

// deleteKey deletes k from b, or returns storage.ErrNotFound (having
// written nothing) if it is not there.
func deleteKey(b *bbolt.Bucket, k []byte) error {
	if b == nil || b.Get(k) == nil {
		return storage.ErrNotFound
	}
	return b.Delete(k)
}
