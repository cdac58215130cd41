package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"net"
	"sync"
	"time"

	"github.com/ternmq/broker/packets"
)

// acceptLoop serves inbound links until Close.
func (n *Node) acceptLoop() {
	for {
		nc, err := n.ln.Accept()
		if err != nil {
			if n.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			n.log.Warn("accepting cluster link", "err", err)
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		n.inMu.Lock()
		if n.ctx.Err() != nil {
			n.inMu.Unlock()
			_ = nc.Close()
			return
		}
		n.inbound[nc] = struct{}{}
		n.inMu.Unlock()
		n.wg.Go(func() {
			defer func() {
				n.inMu.Lock()
				delete(n.inbound, nc)
				n.inMu.Unlock()
				_ = nc.Close()
			}()
			if err := n.serveLink(nc); err != nil && n.ctx.Err() == nil {
				n.log.Debug("cluster link closed", "remote", nc.RemoteAddr().String(), "err", err)
			}
		})
	}
}

// inLink is one inbound link: messages from one member, published here by
// workers (one publisher's messages always by the same worker, in
// order), acks written back in batches by one writer.
type inLink struct {
	n    *Node
	nc   net.Conn
	from string
	acks chan frame
	seed maphash.Seed
}

func (n *Node) serveLink(nc net.Conn) error {
	_ = nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReaderSize(nc, 64<<10)
	var f frame
	buf, err := readFrame(r, nil, &f)
	if err != nil {
		return err
	}
	if f.kind != frameHello {
		return fmt.Errorf("%w: expected hello", errFrame)
	}
	_ = nc.SetReadDeadline(time.Time{})
	l := &inLink{n: n, nc: nc, from: f.node, acks: make(chan frame, 4096), seed: maphash.MakeSeed()}

	ctx, cancel := context.WithCancel(n.ctx)
	var wg sync.WaitGroup
	workers := make([]chan frame, n.cfg.Workers)
	for i := range workers {
		ch := make(chan frame, 256)
		workers[i] = ch
		wg.Go(func() { l.work(ctx, ch) })
	}
	wg.Go(func() { l.writeAcks(ctx) })
	defer func() {
		for _, ch := range workers {
			close(ch)
		}
		cancel()
		wg.Wait()
	}()
	for {
		buf, err = readFrame(r, buf, &f)
		if err != nil {
			return err
		}
		switch f.kind {
		case frameMsg:
			n.stats.received.Add(1)
			i := maphash.String(l.seed, f.msg.ClientID) % uint64(len(workers))
			select {
			case workers[i] <- f: // a full worker stops reading: back-pressure to the sender
			case <-ctx.Done():
				return ctx.Err()
			}
		case frameSync:
			sf := f
			wg.Go(func() {
				sctx, scancel := context.WithTimeout(ctx, n.cfg.SyncTimeout)
				defer scancel()
				code := byte(0)
				if n.waitApplied(sctx, int64(sf.rev)) != nil {
					code = byte(packets.UnspecifiedError)
				}
				l.ack(ctx, frame{kind: frameAck, seq: sf.seq, code: code})
			})
		default:
			return fmt.Errorf("%w: type %d from a dialer", errFrame, f.kind)
		}
	}
}

func (l *inLink) work(ctx context.Context, ch <-chan frame) {
	for f := range ch {
		var unserved []uint64
		if f.wantAck && len(f.msg.SharedGroups) > 0 {
			// QoS 1/2: a group this node cannot serve goes back to the
			// sender, which gives it to another node. QoS 0 is best
			// effort: the group misses it.
			f.msg.SharedGroups, unserved = l.n.servable(f.msg.SharedGroups)
		}
		// A retained set or clear was written to the shared store by the
		// publisher's node: this one updates its index only.
		f.msg.RetainStored = f.msg.Retain
		err := l.n.inject(ctx, f.msg)
		if !f.wantAck {
			continue
		}
		code := byte(0)
		if err != nil {
			code = byte(packets.CodeOf(err))
			if code == 0 {
				code = byte(packets.UnspecifiedError)
			}
		}
		l.ack(ctx, frame{kind: frameAck, seq: f.seq, code: code, unserved: unserved})
	}
}

func (l *inLink) ack(ctx context.Context, f frame) {
	select {
	case l.acks <- f:
	case <-ctx.Done():
	}
}

func (l *inLink) writeAcks(ctx context.Context) {
	var buf []byte
	for {
		select {
		case f := <-l.acks:
			buf = appendFrame(buf[:0], &f)
		case <-ctx.Done():
			return
		}
	more:
		for len(buf) < 32<<10 {
			select {
			case f := <-l.acks:
				buf = appendFrame(buf, &f)
			default:
				break more
			}
		}
		_ = l.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := l.nc.Write(buf); err != nil {
			_ = l.nc.Close()
			return
		}
	}
}
