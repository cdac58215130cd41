//go:build unix

package main

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestReloadCallsEveryPart: every registered part is reloaded in order,
// a failing one does not stop the others, and its error names it.
func TestReloadCallsEveryPart(t *testing.T) {
	var r reloads
	var order []string
	r.register("passwords", func() error { order = append(order, "passwords"); return nil })
	r.register("tls", func() error { order = append(order, "tls"); return errors.New("bad certificate") })
	r.register("jwt", func() error { order = append(order, "jwt"); return nil })
	err := r.reload(slog.New(slog.NewTextHandler(io.Discard, nil)))
	if got := strings.Join(order, ","); got != "passwords,tls,jwt" {
		t.Errorf("reloaded %s, want passwords,tls,jwt", got)
	}
	if err == nil || err.Error() != "tls: bad certificate" {
		t.Errorf("reload = %v, want the failing part's error", err)
	}
}

// TestSIGHUPReloads sends SIGHUP to the test process: a trivial
// reloadable registered with the registry is reloaded once per signal,
// and after stop the registry no longer listens.
func TestSIGHUPReloads(t *testing.T) {
	var r reloads
	var n atomic.Int32
	r.register("counter", func() error { n.Add(1); return nil })
	var logs syncBuffer
	stop := r.onSIGHUP(slog.New(slog.NewTextHandler(&logs, nil)))
	for want := int32(1); want <= 2; want++ {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 5*time.Second, func() error {
			if got := n.Load(); got != want {
				return errors.New("reloadable not called")
			}
			return nil
		})
	}
	stop()
	if !strings.Contains(logs.String(), `msg=reloaded part=counter`) {
		t.Errorf("no reload line in the log:\n%s", logs.String())
	}
}
