package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
	"go.uber.org/zap"

	"github.com/ternmq/broker/storage"
)

// Defaults for the zero fields of Config.
const (
	// DefaultPrefix is the key prefix under which a Store keeps everything.
	DefaultPrefix = "/tern/"
	// DefaultDialTimeout bounds connecting to etcd in New.
	DefaultDialTimeout = 5 * time.Second
	// DefaultLockTTL is the lease TTL of locks: how long a crashed
	// broker's sessions stay locked.
	DefaultLockTTL = 10 * time.Second
	// DefaultMaxValueSize is the largest encoded item (key and value) a
	// Store sends: 1 MiB of payload plus 64 KiB for the topic, properties
	// and framing, below etcd's default 1.5 MiB request limit.
	DefaultMaxValueSize = 1<<20 + 64<<10
)

// pageSize is how many keys a Range reads per request.
const pageSize = 128

// Config configures New. Zero fields take the defaults above.
type Config struct {
	// Endpoints are the etcd client URLs, e.g. "http://127.0.0.1:2379".
	Endpoints []string
	// DialTimeout bounds connecting and the first request in New.
	DialTimeout time.Duration
	// Prefix is the key prefix of this broker cluster's state; a '/' is
	// appended if missing.
	Prefix string
	// Username and Password authenticate to etcd when Username is set.
	Username, Password string
	// TLS is the client TLS configuration; nil means plain connections.
	TLS *tls.Config
	// LockTTL is the TTL of the lease that Lock's locks are bound to:
	// a broker that dies without unlocking loses its locks after it.
	// It is rounded up to whole seconds.
	LockTTL time.Duration
	// MaxValueSize is the largest encoded item a write may send; larger
	// ones fail with storage.ErrTooLarge without reaching etcd. Keep it
	// below the server's --max-request-bytes (1.5 MiB by default).
	MaxValueSize int
	// Logger is the etcd client's logger; nil discards its logs.
	Logger *zap.Logger
}

// Store is a storage.Store and storage.Locker kept in etcd, shared by
// every broker that uses the same etcd cluster and prefix. It is safe for
// concurrent use.
type Store struct {
	cli        *clientv3.Client
	ownsClient bool
	prefix     string
	lockTTL    time.Duration
	maxSize    int

	closed atomic.Bool
	// ctx lives until Close: the lock session's keepalive runs in it.
	ctx    context.Context
	cancel context.CancelFunc

	sessMu sync.Mutex // guards sess
	sess   *concurrency.Session

	mu   sync.Mutex          // guards seqs
	seqs map[string]seqState // last sequence written per client, a hint

	local keyedLocks
}

// seqState is what a Store last saw of a client's seq key.
type seqState struct {
	seq uint64 // last sequence number handed out
	rev int64  // ModRevision of the seq key, 0 if absent
}

// maxSeqHints bounds the seqs cache; it is emptied when full.
const maxSeqHints = 1 << 14

// New connects to etcd and returns a Store that owns the connection: Close
// closes it. ctx bounds the connection check only.
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = DefaultDialTimeout
	}
	logger := cfg.Logger
	if logger == nil {
		logger = zap.NewNop()
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		Username:    cfg.Username,
		Password:    cfg.Password,
		TLS:         cfg.TLS,
		Logger:      logger,
	})
	if err != nil {
		return nil, fmt.Errorf("etcd: connecting to %v: %w", cfg.Endpoints, err)
	}
	s := newStore(cli, cfg.Prefix, cfg.LockTTL, cfg.MaxValueSize)
	s.ownsClient = true
	// A first request checks the endpoints and the credentials.
	cctx, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if _, err := cli.Get(cctx, s.prefix+"seq/"); err != nil {
		s.cancel()
		_ = cli.Close()
		return nil, fmt.Errorf("etcd: connecting to %v: %w", cfg.Endpoints, err)
	}
	return s, nil
}

// NewFromClient returns a Store on a client the caller owns (Close leaves
// it open), with the default LockTTL and MaxValueSize. An empty prefix
// means DefaultPrefix.
func NewFromClient(cli *clientv3.Client, prefix string) *Store {
	return newStore(cli, prefix, 0, 0)
}

func newStore(cli *clientv3.Client, prefix string, lockTTL time.Duration, maxSize int) *Store {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if lockTTL <= 0 {
		lockTTL = DefaultLockTTL
	}
	if maxSize <= 0 {
		maxSize = DefaultMaxValueSize
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Store{
		cli:     cli,
		prefix:  prefix,
		lockTTL: lockTTL,
		maxSize: maxSize,
		ctx:     ctx,
		cancel:  cancel,
		seqs:    map[string]seqState{},
	}
}

// Sessions returns the session store.
func (s *Store) Sessions() storage.SessionStore { return sessions{s} }

// Subscriptions returns the subscription store.
func (s *Store) Subscriptions() storage.SubscriptionStore { return subscriptions{s} }

// Retained returns the retained message store.
func (s *Store) Retained() storage.RetainedStore { return retained{s} }

// Wills returns the will store.
func (s *Store) Wills() storage.WillStore { return wills{s} }

// Queues returns the queue store.
func (s *Store) Queues() storage.QueueStore { return queues{s} }

// Close releases the locks this Store holds (revoking their lease) and,
// if New created the client, closes it. Every later call returns
// storage.ErrClosed. Writes are acknowledged by etcd before they return,
// so there is nothing to flush.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return storage.ErrClosed
	}
	s.sessMu.Lock()
	sess := s.sess
	s.sess = nil
	s.sessMu.Unlock()
	var err error
	if sess != nil {
		if rerr := sess.Close(); rerr != nil && !errors.Is(rerr, rpctypes.ErrLeaseNotFound) {
			err = fmt.Errorf("etcd: revoking the lock lease: %w", rerr)
		}
	}
	s.cancel()
	if s.ownsClient {
		if cerr := s.cli.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("etcd: closing the client: %w", cerr)
		}
	}
	return err
}

// begin is the check every method starts with.
func (s *Store) begin(ctx context.Context) error {
	if s.closed.Load() {
		return storage.ErrClosed
	}
	return ctx.Err()
}

// wrap turns a client error into what callers test for: the context's
// error when it ended, ErrClosed after Close, ErrTooLarge for etcd's size
// refusal.
func (s *Store) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("etcd: %s: %w (%v)", op, cerr, err)
	}
	if s.closed.Load() && !errors.Is(err, storage.ErrClosed) {
		return fmt.Errorf("etcd: %s: %w (%v)", op, storage.ErrClosed, err)
	}
	if errors.Is(err, rpctypes.ErrRequestTooLarge) {
		return fmt.Errorf("etcd: %s: %w (%v)", op, storage.ErrTooLarge, err)
	}
	return fmt.Errorf("etcd: %s: %w", op, err)
}

// checkSize refuses an item etcd would refuse, before sending it.
func (s *Store) checkSize(what, key string, val []byte) error {
	if n := len(key) + len(val); n > s.maxSize {
		return fmt.Errorf("etcd: %s: %d bytes encoded, limit %d: %w", what, n, s.maxSize, storage.ErrTooLarge)
	}
	return nil
}

// escape makes a client id one key segment: no '/', reversible.
func escape(id string) string { return url.PathEscape(id) }

func unescape(seg string) (string, error) { return url.PathUnescape(seg) }

// key joins the prefix and parts.
func (s *Store) key(parts ...string) string {
	return s.prefix + strings.Join(parts, "")
}

// get reads one key; nil without error when it is absent.
func (s *Store) get(ctx context.Context, op, key string) (*mvccpb.KeyValue, error) {
	resp, err := s.cli.Get(ctx, key)
	if err != nil {
		return nil, s.wrap(ctx, op, err)
	}
	if len(resp.Kvs) == 0 {
		return nil, nil
	}
	return resp.Kvs[0], nil
}

// put writes one key after checking its size.
func (s *Store) put(ctx context.Context, op, key string, val []byte) error {
	if err := s.checkSize(op, key, val); err != nil {
		return err
	}
	_, err := s.cli.Put(ctx, key, string(val))
	return s.wrap(ctx, op, err)
}

// del deletes one key, or every key under it with prefix; a single key
// that is absent is ErrNotFound.
func (s *Store) del(ctx context.Context, op, key string, prefix bool) error {
	var opts []clientv3.OpOption
	if prefix {
		opts = append(opts, clientv3.WithPrefix())
	}
	resp, err := s.cli.Delete(ctx, key, opts...)
	if err != nil {
		return s.wrap(ctx, op, err)
	}
	if !prefix && resp.Deleted == 0 {
		return fmt.Errorf("etcd: %s: %w", op, storage.ErrNotFound)
	}
	return nil
}

// scan calls fn for every key under prefix in key order, a page at a
// time, until fn returns false or an error. No lock or transaction is
// held while fn runs, so fn may call the Store.
func (s *Store) scan(ctx context.Context, op, prefix string, fn func(kv *mvccpb.KeyValue) (bool, error)) error {
	if err := s.begin(ctx); err != nil {
		return err
	}
	end := clientv3.GetPrefixRangeEnd(prefix)
	from := prefix
	for {
		resp, err := s.cli.Get(ctx, from,
			clientv3.WithRange(end),
			clientv3.WithLimit(pageSize),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
		if err != nil {
			return s.wrap(ctx, op, err)
		}
		for _, kv := range resp.Kvs {
			more, err := fn(kv)
			if err != nil {
				return fmt.Errorf("etcd: %s: %w", op, err)
			}
			if !more {
				return nil
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
		if err := s.begin(ctx); err != nil {
			return err
		}
	}
}
