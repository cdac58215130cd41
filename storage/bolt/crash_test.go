package bolt

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/ternmq/broker/storage"
)

// Environment of the helper process: the file it writes and its sync mode.
const (
	envCrashPath = "TERN_BOLT_CRASH_PATH"
	envCrashMode = "TERN_BOLT_CRASH_MODE"
)

// crashMessage is what the helper process appends, over and over.
var crashMessage = storage.Message{Topic: "crash/test", Payload: bytes.Repeat([]byte("durable "), 64), QoS: 1}

// TestHelperProcess is not a test: run by TestKilledWriterLosesNothing in a
// child process, it appends to a queue, printing each sequence number once
// Append has returned, until it is killed. Should its parent die first, the
// broken pipe or the cap on appends ends it.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(envCrashPath)
	if path == "" {
		t.Skip("helper process for TestKilledWriterLosesNothing")
	}
	mode, err := strconv.Atoi(os.Getenv(envCrashMode))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(path, WithSync(SyncMode(mode)))
	if err != nil {
		t.Fatal(err)
	}
	writers := 1
	if SyncMode(mode) == SyncBatch {
		writers = 8 // give the batches company
	}
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range 100_000 / writers {
				seq, err := s.Queues().Append(context.Background(), "crash", &crashMessage)
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				// One write(2) per line: atomic on a pipe, so the parent
				// never reads half a number.
				if _, err := os.Stdout.WriteString(strconv.FormatUint(seq, 10) + "\n"); err != nil {
					os.Exit(3)
				}
			}
		})
	}
	wg.Wait()
}

// TestKilledWriterLosesNothing kills a writing process with SIGKILL and
// checks that every Append it saw return is in the file, which bbolt
// opens and checks cleanly.
func TestKilledWriterLosesNothing(t *testing.T) {
	for _, mode := range []SyncMode{SyncAlways, SyncBatch} {
		t.Run(mode.String(), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "crash.db")
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
			cmd.Env = append(os.Environ(), envCrashPath+"="+path, envCrashMode+"="+strconv.Itoa(int(mode)))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Kill it mid-way: after it has reported 200 appends, while
			// it is busy with more.
			const killAfter = 200
			acked := map[uint64]bool{}
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				seq, err := strconv.ParseUint(sc.Text(), 10, 64)
				if err != nil {
					continue // not ours (test framework output)
				}
				acked[seq] = true
				if len(acked) == killAfter {
					if err := cmd.Process.Kill(); err != nil {
						t.Fatal(err)
					}
				}
			}
			werr := cmd.Wait()
			if len(acked) < killAfter {
				t.Fatalf("helper reported %d appends before exiting (%v): %s", len(acked), werr, stderr.Bytes())
			}
			t.Logf("helper killed (%v) after reporting %d appends", werr, len(acked))

			s, err := Open(path)
			if err != nil {
				t.Fatalf("reopening after the kill: %v", err)
			}
			defer s.Close()
			stored := map[uint64]bool{}
			err = s.Queues().Range(t.Context(), "crash", func(q *storage.Queued) bool {
				if q.Topic != crashMessage.Topic || !bytes.Equal(q.Payload, crashMessage.Payload) {
					t.Errorf("entry %d came back as %q %q", q.Seq, q.Topic, q.Payload)
				}
				stored[q.Seq] = true
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			for seq := range acked {
				if !stored[seq] {
					t.Errorf("seq %d was acknowledged by Append but is not in the file", seq)
				}
			}
			t.Logf("%d entries in the file, %d acknowledged", len(stored), len(acked))
			err = s.db.View(func(tx *bbolt.Tx) error {
				for err := range tx.Check() {
					return err
				}
				return nil
			})
			if err != nil {
				t.Errorf("bbolt consistency check: %v", err)
			}
		})
	}
}
