// Command simple embeds a Tern broker in a program of its own: one TCP
// listener on 127.0.0.1:1883, served until Ctrl-C or SIGTERM, then shut
// down gracefully. It is the README's embedding example (a test keeps the
// two identical).
package main

import (
	"context"
	"os/signal"
	"syscall"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
)

func main() {
	l, err := tcp.New("tcp", "127.0.0.1:1883")
	if err != nil {
		panic(err)
	}
	b, err := broker.New(broker.WithListener(l))
	if err != nil {
		panic(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := b.Serve(ctx); err != nil {
		panic(err)
	}
}
