// Command metrics_hook embeds a Tern broker with a Metrics implementation
// of its own: it counts messages published and delivered and connections,
// and logs the rates once a minute. It embeds broker.NoMetrics, so it
// implements only the events it cares about and keeps compiling when the
// broker adds new ones.
package main

import (
	"context"
	"flag"
	"log"
	"log/slog"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
)

// rates counts events; the broker calls it from many goroutines, so the
// counters are atomic and nothing blocks.
type rates struct {
	broker.NoMetrics
	published, delivered, connects atomic.Int64
}

// MessagePublished counts a message accepted for routing.
func (r *rates) MessagePublished(string, byte) { r.published.Add(1) }

// MessageDelivered counts a completed delivery.
func (r *rates) MessageDelivered(byte) { r.delivered.Add(1) }

// ClientConnected counts an accepted connection.
func (r *rates) ClientConnected(string) { r.connects.Add(1) }

// report logs the counts of each interval until ctx is done.
func (r *rates) report(ctx context.Context, every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			perMin := float64(time.Minute) / float64(every)
			log.Info("rates per minute",
				"published", float64(r.published.Swap(0))*perMin,
				"delivered", float64(r.delivered.Swap(0))*perMin,
				"connects", float64(r.connects.Swap(0))*perMin)
		}
	}
}

func main() {
	addr := flag.String("addr", "127.0.0.1:1883", "address to listen on")
	flag.Parse()
	l, err := tcp.New("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	r := &rates{}
	b, err := broker.New(broker.WithListener(l), broker.WithMetrics(r))
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go r.report(ctx, time.Minute, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err := b.Serve(ctx); err != nil {
		log.Fatal(err)
	}
}
