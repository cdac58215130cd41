// Command simple embeds a Tern broker in a program of its own: one TCP
// listener on 127.0.0.1:1883, served until Ctrl-C, then shut down
// gracefully. It is the snippet of the README.
package main

import (
	"context"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
)

func main() {
	l, err := tcp.New("tcp", "127.0.0.1:1883")
	if err != nil {
		log.Fatal(err)
	}
	b, err := broker.New(broker.WithListener(l))
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := b.Start(ctx); err != nil {
		log.Fatal(err)
	}
	<-ctx.Done() // until Ctrl-C

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		log.Fatal(err)
	}
}
