package etcd

import (
	"context"
	"net/url"
	"strings"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Claims live under owners/<escaped client id>, valued with the owning
// broker's id (storage.Claimer).

// Claim records owner as the broker serving clientID.
func (s *Store) Claim(ctx context.Context, clientID, owner string) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	if _, err := s.cli.Put(ctx, s.key("owners/", escape(clientID)), owner); err != nil {
		return s.wrap(ctx, "claim", err)
	}
	return nil
}

// WatchClaims calls fn for every claim by another owner until ctx is done.
func (s *Store) WatchClaims(ctx context.Context, owner string, fn func(clientID string)) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	prefix := s.key("owners/")
	for resp := range s.cli.Watch(clientv3.WithRequireLeader(ctx), prefix, clientv3.WithPrefix()) {
		if err := resp.Err(); err != nil {
			return s.wrap(ctx, "watch claims", err)
		}
		for _, ev := range resp.Events {
			if ev.Type != clientv3.EventTypePut || string(ev.Kv.Value) == owner {
				continue
			}
			id, err := url.PathUnescape(strings.TrimPrefix(string(ev.Kv.Key), prefix))
			if err == nil {
				fn(id)
			}
		}
	}
	return ctx.Err()
}
