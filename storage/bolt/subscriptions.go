package bolt

import (
	"context"
	"errors"
	"github.com/ternmq/broker/storage/internal/record"

	bbolt "go.etcd.io/bbolt"

	"github.com/ternmq/broker/storage"
)

// subscriptionStore is the Store seen as a storage.SubscriptionStore.
type subscriptionStore Store

// Add stores sub for the client, replacing its subscription with the same
// filter.
func (ss *subscriptionStore) Add(ctx context.Context, clientID string, sub storage.Subscription) error {
	if err := checkKey("client id", clientID); err != nil {
		return err
	}
	if err := checkKey("filter", sub.Filter); err != nil {
		return err
	}
	v := record.EncodeSubscription(&sub)
	return (*Store)(ss).update(ctx, func(tx *bbolt.Tx) error {
		b, err := tx.Bucket(bucketSubs).CreateBucketIfNotExists([]byte(clientID))
		if err != nil {
			return err
		}
		return b.Put([]byte(sub.Filter), v)
	})
}

// Remove deletes the client's subscription to filter, or returns
// storage.ErrNotFound. The client's bucket goes with its last
// subscription.
func (ss *subscriptionStore) Remove(ctx context.Context, clientID, filter string) error {
	return (*Store)(ss).update(ctx, func(tx *bbolt.Tx) error {
		subs := tx.Bucket(bucketSubs)
		b := subs.Bucket([]byte(clientID))
		if err := deleteKey(b, []byte(filter)); err != nil {
			return err
		}
		if k, _ := b.Cursor().First(); k == nil {
			return subs.DeleteBucket([]byte(clientID))
		}
		return nil
	})
}

// RemoveAll deletes every subscription of the client; none is not an error.
func (ss *subscriptionStore) RemoveAll(ctx context.Context, clientID string) error {
	return (*Store)(ss).update(ctx, func(tx *bbolt.Tx) error {
		subs := tx.Bucket(bucketSubs)
		if subs.Bucket([]byte(clientID)) == nil {
			return nil
		}
		return subs.DeleteBucket([]byte(clientID))
	})
}

// ForClient returns the client's subscriptions in filter order; none (nil)
// is not an error.
func (ss *subscriptionStore) ForClient(ctx context.Context, clientID string) ([]storage.Subscription, error) {
	var out []storage.Subscription
	err := (*Store)(ss).view(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSubs).Bucket([]byte(clientID))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			sub, err := record.DecodeSubscription([]byte(clientID), k, v)
			out = append(out, sub)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Range calls fn for every subscription of every client, in client id then
// filter order, until fn returns false. It reads one client's
// subscriptions at a time.
func (ss *subscriptionStore) Range(ctx context.Context, fn func(clientID string, s storage.Subscription) bool) error {
	var err error
	serr := scan(ctx, (*Store)(ss), topBucket(bucketSubs), true,
		func(k, _ []byte) (string, error) { return string(k), nil },
		func(clientID string) bool {
			var subs []storage.Subscription
			subs, err = ss.ForClient(ctx, clientID)
			if err != nil {
				return false
			}
			for _, sub := range subs {
				if !fn(clientID, sub) {
					return false
				}
			}
			return true
		})
	return errors.Join(serr, err)
}
