package broker

import (
	"strconv"
	"strings"
	"time"

	"github.com/ternmq/broker/internal/sessions"
	"github.com/ternmq/broker/topics"
)

// sysLoop publishes the $SYS topics, retained, every interval until stop is
// closed. Names follow Mosquitto's, so existing dashboards work; '#' and '+'
// at the first level do not match them [MQTT-4.7.2-1].
func (b *Broker) sysLoop(stop <-chan struct{}) {
	t := time.NewTicker(b.feat.sysInterval)
	defer t.Stop()
	b.publishSys()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			b.publishSys()
		}
	}
}

// publishSys publishes one round of $SYS values.
func (b *Broker) publishSys() {
	st := b.Stats()
	vals := []SysValue{
		{"$SYS/broker/version", Version},
		{"$SYS/broker/uptime", strconv.FormatInt(int64(st.Uptime/time.Second), 10) + " seconds"},
		{"$SYS/broker/clients/connected", itoa(st.Connected)},
		{"$SYS/broker/clients/disconnected", itoa(int64(st.Sessions) - st.Connected)},
		{"$SYS/broker/clients/total", itoa(int64(st.Sessions))},
		{"$SYS/broker/clients/maximum", itoa(st.MaxConnected)},
		{"$SYS/broker/connections/total", itoa(st.ConnectionsTotal)},
		{"$SYS/broker/messages/received", itoa(st.MessagesReceived)},
		{"$SYS/broker/messages/sent", itoa(st.MessagesDelivered)},
		{"$SYS/broker/messages/dropped", itoa(st.Dropped)},
		{"$SYS/broker/messages/inflight", itoa(int64(st.Inflight))},
		{"$SYS/broker/bytes/received", itoa(st.BytesReceived)},
		{"$SYS/broker/bytes/sent", itoa(st.BytesSent)},
		{"$SYS/broker/subscriptions/count", itoa(int64(st.Subscriptions))},
		{"$SYS/broker/retained messages/count", itoa(int64(st.Retained))},
		{"$SYS/broker/sessions/count", itoa(int64(st.Sessions))},
	}
	for _, h := range b.hooks.sys {
		for _, v := range h.SysValues() {
			if strings.HasPrefix(v.Topic, "$SYS/") && topics.ValidateName([]byte(v.Topic)) == nil {
				vals = append(vals, v)
			}
		}
	}
	now := time.Now()
	for _, v := range vals {
		m := sessions.NewMessage([]byte(v.Topic), []byte(v.Value), 0, true, nil)
		m.Created = now
		b.retained.Set(m.Topic, m) // memory only: $SYS is rebuilt at every start
		_, _ = b.route(m)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
