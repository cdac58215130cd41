package etcd

import (
	"context"
	"fmt"
	"github.com/ternmq/broker/storage/internal/record"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/ternmq/broker/storage"
)

// sessions implements storage.SessionStore under sessions/<id>.
type sessions struct{ s *Store }

func (st sessions) key(clientID string) string { return st.s.key("sessions/", escape(clientID)) }

func (st sessions) Get(ctx context.Context, clientID string) (*storage.Session, error) {
	if err := st.s.begin(ctx); err != nil {
		return nil, err
	}
	kv, err := st.s.get(ctx, "get session", st.key(clientID))
	if err != nil {
		return nil, err
	}
	if kv == nil {
		return nil, fmt.Errorf("etcd: session %q: %w", clientID, storage.ErrNotFound)
	}
	return record.DecodeSession([]byte(clientID), kv.Value)
}

func (st sessions) Save(ctx context.Context, ses *storage.Session) error {
	if err := st.s.begin(ctx); err != nil {
		return err
	}
	return st.s.put(ctx, "save session", st.key(ses.ClientID), record.EncodeSession(ses))
}

func (st sessions) Delete(ctx context.Context, clientID string) error {
	if err := st.s.begin(ctx); err != nil {
		return err
	}
	return st.s.del(ctx, "delete session "+fmt.Sprintf("%q", clientID), st.key(clientID), false)
}

func (st sessions) Range(ctx context.Context, fn func(*storage.Session) bool) error {
	pfx := st.s.key("sessions/")
	return st.s.scan(ctx, "range sessions", pfx, func(kv *mvccpb.KeyValue) (bool, error) {
		id, err := unescape(string(kv.Key[len(pfx):]))
		if err != nil {
			return false, fmt.Errorf("session key %q: %w", kv.Key, err)
		}
		ses, err := record.DecodeSession([]byte(id), kv.Value)
		if err != nil {
			return false, err
		}
		return fn(ses), nil
	})
}

// subscriptions implements storage.SubscriptionStore under
// subs/<id>/<filter>.
type subscriptions struct{ s *Store }

func (st subscriptions) prefix(clientID string) string {
	return st.s.key("subs/", escape(clientID), "/")
}

func (st subscriptions) Add(ctx context.Context, clientID string, sub storage.Subscription) error {
	if err := st.s.begin(ctx); err != nil {
		return err
	}
	return st.s.put(ctx, "add subscription", st.prefix(clientID)+sub.Filter, record.EncodeSubscription(&sub))
}

func (st subscriptions) Remove(ctx context.Context, clientID, filter string) error {
	if err := st.s.begin(ctx); err != nil {
		return err
	}
	return st.s.del(ctx, fmt.Sprintf("remove subscription %q of %q", filter, clientID), st.prefix(clientID)+filter, false)
}

func (st subscriptions) RemoveAll(ctx context.Context, clientID string) error {
	if err := st.s.begin(ctx); err != nil {
		return err
	}
	return st.s.del(ctx, "remove subscriptions", st.prefix(clientID), true)
}

func (st subscriptions) ForClient(ctx context.Context, clientID string) ([]storage.Subscription, error) {
	var subs []storage.Subscription
	pfx := st.prefix(clientID)
	err := st.s.scan(ctx, "subscriptions of client", pfx, func(kv *mvccpb.KeyValue) (bool, error) {
		sub, err := record.DecodeSubscription([]byte(clientID), kv.Key[len(pfx):], kv.Value)
		if err != nil {
			return false, err
		}
		subs = append(subs, sub)
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	return subs, nil
}

func (st subscriptions) Range(ctx context.Context, fn func(clientID string, s storage.Subscription) bool) error {
	pfx := st.s.key("subs/")
	return st.s.scan(ctx, "range subscriptions", pfx, func(kv *mvccpb.KeyValue) (bool, error) {
		rest := string(kv.Key[len(pfx):])
		seg, filter, ok := strings.Cut(rest, "/")
		if !ok {
			return false, fmt.Errorf("subscription key %q: no filter", kv.Key)
		}
		id, err := unescape(seg)
		if err != nil {
			return false, fmt.Errorf("subscription key %q: %w", kv.Key, err)
		}
		sub, err := record.DecodeSubscription([]byte(id), []byte(filter), kv.Value)
		if err != nil {
			return false, err
		}
		return fn(id, sub), nil
	})
}

// retained implements storage.RetainedStore under retained/<topic>; the
// topic is the last segment, so it keeps its '/'.
type retained struct{ s *Store }

func (st retained) key(topic string) string { return st.s.key("retained/", topic) }

func (st retained) Set(ctx context.Context, m *storage.Message) error {
	if err := st.s.begin(ctx); err != nil {
		return err
	}
	return st.s.put(ctx, "set retained message", st.key(m.Topic), record.EncodeRetained(m))
}

func (st retained) Delete(ctx context.Context, topic string) error {
	if err := st.s.begin(ctx); err != nil {
		return err
	}
	return st.s.del(ctx, fmt.Sprintf("delete retained message %q", topic), st.key(topic), false)
}

func (st retained) Get(ctx context.Context, topic string) (*storage.Message, error) {
	if err := st.s.begin(ctx); err != nil {
		return nil, err
	}
	kv, err := st.s.get(ctx, "get retained message", st.key(topic))
	if err != nil {
		return nil, err
	}
	if kv == nil {
		return nil, fmt.Errorf("etcd: retained message %q: %w", topic, storage.ErrNotFound)
	}
	return record.DecodeRetained([]byte(topic), kv.Value)
}

func (st retained) Range(ctx context.Context, fn func(*storage.Message) bool) error {
	pfx := st.s.key("retained/")
	return st.s.scan(ctx, "range retained messages", pfx, func(kv *mvccpb.KeyValue) (bool, error) {
		m, err := record.DecodeRetained(kv.Key[len(pfx):], kv.Value)
		if err != nil {
			return false, err
		}
		return fn(m), nil
	})
}

// wills implements storage.WillStore under wills/<id>.
type wills struct{ s *Store }

func (st wills) key(clientID string) string { return st.s.key("wills/", escape(clientID)) }

func (st wills) Set(ctx context.Context, clientID string, w *storage.Will) error {
	if err := st.s.begin(ctx); err != nil {
		return err
	}
	return st.s.put(ctx, "set will", st.key(clientID), record.EncodeWill(w))
}

func (st wills) Get(ctx context.Context, clientID string) (*storage.Will, error) {
	if err := st.s.begin(ctx); err != nil {
		return nil, err
	}
	kv, err := st.s.get(ctx, "get will", st.key(clientID))
	if err != nil {
		return nil, err
	}
	if kv == nil {
		return nil, fmt.Errorf("etcd: will of %q: %w", clientID, storage.ErrNotFound)
	}
	return record.DecodeWill([]byte(clientID), kv.Value)
}

func (st wills) Delete(ctx context.Context, clientID string) error {
	if err := st.s.begin(ctx); err != nil {
		return err
	}
	return st.s.del(ctx, fmt.Sprintf("delete will of %q", clientID), st.key(clientID), false)
}

func (st wills) Range(ctx context.Context, fn func(clientID string, w *storage.Will) bool) error {
	pfx := st.s.key("wills/")
	return st.s.scan(ctx, "range wills", pfx, func(kv *mvccpb.KeyValue) (bool, error) {
		id, err := unescape(string(kv.Key[len(pfx):]))
		if err != nil {
			return false, fmt.Errorf("will key %q: %w", kv.Key, err)
		}
		w, err := record.DecodeWill([]byte(id), kv.Value)
		if err != nil {
			return false, err
		}
		return fn(id, w), nil
	})
}
