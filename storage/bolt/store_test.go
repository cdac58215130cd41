package bolt

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/ternmq/broker/storage"
)

func openTest(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestKeysBboltRefuses(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "t.db"), WithSync(SyncNone))
	ctx := t.Context()
	long := strings.Repeat("x", bbolt.MaxKeySize+1)
	m := &storage.Message{Topic: long, Payload: []byte("p")}
	tests := []struct {
		name string
		err  error
		want error // nil: any error
	}{
		{"retained topic too long", s.Retained().Set(ctx, m), storage.ErrTooLarge},
		{"client id too long", func() error { _, err := s.Queues().Append(ctx, long, m); return err }(), storage.ErrTooLarge},
		{"filter too long", s.Subscriptions().Add(ctx, "c", storage.Subscription{Filter: long}), storage.ErrTooLarge},
		{"empty client id", s.Sessions().Save(ctx, &storage.Session{}), nil},
		{"empty will client id", s.Wills().Set(ctx, "", &storage.Will{}), nil},
	}
	for _, tt := range tests {
		if tt.err == nil || (tt.want != nil && !errors.Is(tt.err, tt.want)) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	// The store still works.
	if _, err := s.Queues().Append(ctx, "c", &storage.Message{Topic: "t"}); err != nil {
		t.Fatal(err)
	}
}

// In SyncBatch, a call that finds nothing shares its transaction with
// others; it must get ErrNotFound without failing or repeating theirs.
func TestBatchMissDoesNotFailOthers(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "t.db"), WithSync(SyncBatch), WithBatchDelay(20*time.Millisecond))
	ctx := t.Context()
	const n = 16
	seqs := make(chan uint64, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if i%2 == 0 {
				if err := s.Queues().Remove(ctx, "c", 1_000_000+uint64(i)); !errors.Is(err, storage.ErrNotFound) {
					t.Errorf("Remove of a missing entry: got %v, want ErrNotFound", err)
				}
				return
			}
			seq, err := s.Queues().Append(ctx, "c", &storage.Message{Topic: "t"})
			if err != nil {
				t.Errorf("Append: %v", err)
				return
			}
			seqs <- seq
		})
	}
	wg.Wait()
	close(seqs)
	acked := map[uint64]bool{}
	for seq := range seqs {
		acked[seq] = true
	}
	var stored []uint64
	if err := s.Queues().Range(ctx, "c", func(q *storage.Queued) bool {
		stored = append(stored, q.Seq)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if len(stored) != n/2 || len(acked) != n/2 {
		t.Fatalf("stored %v, acknowledged %v: want %d of each", stored, acked, n/2)
	}
	for _, seq := range stored {
		if !acked[seq] {
			t.Errorf("stored seq %d was not acknowledged", seq)
		}
	}
	st := s.db.Stats()
	t.Logf("%d calls, %d write transactions", n, st.TxStats.GetWrite())
}

func TestOpenRefusesNewerLayout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	s := openTest(t, path)
	if err := s.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyFormat, []byte{layoutVersion + 1})
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err := Open(path); err == nil {
		s.Close()
		t.Fatal("Open accepted a file with a newer layout version")
	}
}

func TestOpenWaitsForLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	openTest(t, path)
	start := time.Now()
	s, err := Open(path, WithLockTimeout(50*time.Millisecond))
	if err == nil {
		s.Close()
		t.Fatal("a second Open of a file in use succeeded")
	}
	if !errors.Is(err, bbolt.ErrTimeout) {
		t.Fatalf("second Open: got %v, want bbolt's timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("second Open took %v with a 50ms lock timeout", d)
	}
}

func TestOpenRejectsUnknownSyncMode(t *testing.T) {
	if s, err := Open(filepath.Join(t.TempDir(), "t.db"), WithSync(SyncMode(9))); err == nil {
		s.Close()
		t.Fatal("Open accepted sync mode 9")
	}
}

// A damaged or foreign file is an error from Open, not a panic.
func TestOpenRejectsGarbage(t *testing.T) {
	for name, content := range map[string][]byte{
		"zeros then text": append(make([]byte, 8192), "this is not a bolt database"...),
		"short text":      []byte("not bolt"),
		"random":          bytes.Repeat([]byte{0x5A, 0xA5, 0x01, 0xFE}, 4096),
	} {
		path := filepath.Join(t.TempDir(), "t.db")
		if err := os.WriteFile(path, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if s, err := Open(path); err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}
