package main

import (
	"net"
	"sync"

	"github.com/ternmq/broker/listeners"
)

// Pipe is a transport of our own: in-memory connections (net.Pipe). Any
// source of net.Conns can be a listener; these five methods are all it takes.
type Pipe struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func NewPipe() *Pipe { return &Pipe{conns: make(chan net.Conn), done: make(chan struct{})} }

func (p *Pipe) Name() string   { return "pipe" }
func (p *Pipe) Addr() net.Addr { return &net.UnixAddr{Net: "pipe", Name: "in-memory"} }
func (p *Pipe) Close() error   { p.once.Do(func() { close(p.done) }); return nil }

// Serve hands each new connection to the broker until Close.
func (p *Pipe) Serve(h listeners.Handler) error {
	for {
		select {
		case c := <-p.conns:
			go h.ServeConn(p.Name(), c)
		case <-p.done:
			return nil
		}
	}
}

// Dial returns the client's end of a new connection.
func (p *Pipe) Dial() (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case p.conns <- server:
		return client, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}
