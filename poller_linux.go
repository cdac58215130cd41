//go:build linux

package broker

import (
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pollerSupported: parking is available on this system.
const pollerSupported = true

// poller waits on the sockets of parked connections with an epoll instance
// of its own (the runtime's netpoller has the same sockets, edge-triggered,
// for the goroutines that read them). Each socket is registered one-shot:
// an event wakes its connection once, and parking arms it again.
type poller struct {
	b     *Broker
	epfd  int
	evfd  int // eventfd that stops loop
	mu    sync.Mutex
	conns map[int32]*conn // by socket, the last connection armed on it
	done  chan struct{}
}

func newPoller(b *Broker) (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	evfd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, err
	}
	return &poller{b: b, epfd: epfd, evfd: evfd, conns: make(map[int32]*conn), done: make(chan struct{})}, nil
}

// arm registers c's socket for one readiness event. It runs on c's
// goroutine; false: the socket could not be registered (it is closed).
func (p *poller) arm(c *conn) bool {
	sc, ok := c.nc.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	armed := false
	// Control holds the socket open while it runs: its number cannot be
	// reused by another connection meanwhile.
	err = rc.Control(func(fd uintptr) {
		ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLONESHOT, Fd: int32(fd)}
		p.mu.Lock()
		p.conns[int32(fd)] = c
		p.mu.Unlock()
		op := unix.EPOLL_CTL_MOD
		if !c.registered {
			op = unix.EPOLL_CTL_ADD
		}
		if unix.EpollCtl(p.epfd, op, int(fd), &ev) == nil {
			c.registered, c.fd, armed = true, int32(fd), true
			return
		}
		p.mu.Lock()
		if p.conns[int32(fd)] == c {
			delete(p.conns, int32(fd))
		}
		p.mu.Unlock()
	})
	return err == nil && armed
}

// forget drops c from the poller's table when its connection ends (on c's
// goroutine). The kernel drops the socket from the epoll set as it closes.
func (p *poller) forget(c *conn) {
	if !c.registered {
		return
	}
	p.mu.Lock()
	if p.conns[c.fd] == c {
		delete(p.conns, c.fd)
	}
	p.mu.Unlock()
}

// loop waits for events and sweeps every parkAfter, until close.
func (p *poller) loop() {
	defer close(p.done)
	events := make([]unix.EpollEvent, 256)
	var sweepBuf []*conn
	every := p.b.parkAfter
	next := time.Now().Add(every)
	for {
		wait := int(time.Until(next) / time.Millisecond)
		n, err := unix.EpollWait(p.epfd, events, max(wait, 0))
		if err != nil && err != unix.EINTR {
			p.b.log.Error("poller stopped", "err", err)
			return
		}
		for _, ev := range events[:max(n, 0)] {
			if ev.Fd == int32(p.evfd) {
				return
			}
			p.mu.Lock()
			c := p.conns[ev.Fd]
			p.mu.Unlock()
			if c != nil {
				c.wake()
			}
		}
		if now := time.Now(); !now.Before(next) {
			sweepBuf = p.b.sweep(now, sweepBuf)
			next = now.Add(every)
		}
	}
}

// close stops loop and releases the epoll instance.
func (p *poller) close() {
	var one = [8]byte{1}
	_, _ = unix.Write(p.evfd, one[:])
	<-p.done
	unix.Close(p.epfd)
	unix.Close(p.evfd)
}
