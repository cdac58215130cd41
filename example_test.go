package broker_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/packets"
)

func ExampleNew() {
	l, err := tcp.New("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	b, err := broker.New(broker.WithListener(l), broker.WithLimits(broker.Limits{MaxConnections: 1000}))
	if err != nil {
		log.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	fmt.Println("listening:", b.Listeners()[0].Name())
	// Output: listening: tcp
}

func ExampleNew_invalidOption() {
	_, err := broker.New(broker.WithMaximumQoS(5))
	fmt.Println(err)
	// Output: broker: WithMaximumQoS: QoS 5 (must be 0, 1 or 2)
}

func ExampleBroker_Publish() {
	b, _ := broker.New()
	defer b.Close()
	// The host publishes as a client would; retained messages stay.
	if err := b.Publish("status/app", []byte("up"), 1, true); err != nil {
		log.Fatal(err)
	}
	ms, _ := b.Retained("status/#")
	fmt.Println(ms[0].Topic, string(ms[0].Payload))
	// Output: status/app up
}

func ExampleBroker_PublishMessage() {
	b, _ := broker.New()
	defer b.Close()
	got := make(chan *broker.Message, 1)
	cancel, _ := b.Subscribe("rpc/#", 1, func(m *broker.Message) { got <- m })
	defer cancel()
	// MQTT 5 properties are plain fields of Message.
	_, _ = b.PublishMessage(context.Background(), &broker.Message{
		Topic:           "rpc/add",
		Payload:         []byte(`[1,2]`),
		QoS:             1,
		ContentType:     "application/json",
		ResponseTopic:   "rpc/replies/7",
		CorrelationData: []byte("req-7"),
		UserProperties:  []broker.UserProperty{{Key: "trace", Value: "abc"}},
	})
	m := <-got
	fmt.Println(m.ContentType, m.ResponseTopic, string(m.CorrelationData), m.UserProperties[0].Value)
	// Output: application/json rpc/replies/7 req-7 abc
}

func ExampleBroker_Subscribe() {
	b, _ := broker.New()
	defer b.Close()
	got := make(chan string, 1)
	cancel, err := b.Subscribe("sensors/+/temp", 0, func(m *broker.Message) { got <- m.Topic + "=" + string(m.Payload) })
	if err != nil {
		log.Fatal(err)
	}
	defer cancel()
	_ = b.Publish("sensors/kitchen/temp", []byte("21.5"), 0, false)
	fmt.Println(<-got)
	// Output: sensors/kitchen/temp=21.5
}

// users is an Authenticator over a fixed table.
type users map[string]string

func (u users) Authenticate(_ context.Context, c *broker.Credentials) error {
	if pw, ok := u[c.Username]; !ok || pw != string(c.Password) {
		return packets.BadUserNameOrPassword
	}
	c.Attributes = map[string]any{"home": "users/" + c.Username + "/"}
	return nil
}

func ExampleAuthenticator() {
	b, _ := broker.New(broker.WithAuthenticator(users{"ann": "secret"}))
	defer b.Close()
	_, err := b.NewClient(context.Background(), &broker.Credentials{ClientInfo: broker.ClientInfo{Username: "ann"}, Password: []byte("wrong")})
	fmt.Println(err)
	c, err := b.NewClient(context.Background(), &broker.Credentials{ClientInfo: broker.ClientInfo{Username: "ann"}, Password: []byte("secret")})
	fmt.Println(err, c.Info().Attributes["home"])
	// Output:
	// bad user name or password
	// <nil> users/ann/
}

// homeOnly lets each user publish and subscribe under their home prefix,
// which the Authenticator attached.
type homeOnly struct{}

func (homeOnly) Authorize(_ context.Context, c *broker.ClientInfo, a broker.Access) broker.Decision {
	home, _ := c.Attributes["home"].(string)
	if home == "" || !strings.HasPrefix(a.Topic, home) {
		return broker.Deny()
	}
	if a.Action == broker.ActionSubscribe {
		return broker.AllowQoS(1) // at most QoS 1 for subscriptions
	}
	return broker.Allow()
}

func ExampleAuthorizer() {
	b, _ := broker.New(broker.WithAuthenticator(users{"ann": "secret"}), broker.WithAuthorizer(homeOnly{}))
	defer b.Close()
	c, _ := b.NewClient(context.Background(), &broker.Credentials{ClientInfo: broker.ClientInfo{Username: "ann"}, Password: []byte("secret")})
	defer c.Close()
	_, err := c.Publish(context.Background(), &broker.Message{Topic: "users/bob/inbox", Payload: []byte("hi")})
	fmt.Println(err)
	_, err = c.Publish(context.Background(), &broker.Message{Topic: "users/ann/notes", Payload: []byte("hi")})
	fmt.Println(err)
	// Output:
	// not authorized
	// <nil>
}

// noSecrets is the easy, two-question form of an Authorizer.
type noSecrets struct{}

func (noSecrets) CanPublish(_ *broker.ClientInfo, topic string) bool {
	return !strings.HasPrefix(topic, "secret/")
}
func (noSecrets) CanSubscribe(_ *broker.ClientInfo, filter string) bool { return filter != "#" }

func ExampleSimpleAuthorizer() {
	b, _ := broker.New(broker.WithAuthorizer(broker.SimpleAuthorizer(noSecrets{})))
	defer b.Close()
	c, _ := b.NewClient(context.Background(), &broker.Credentials{ClientInfo: broker.ClientInfo{ID: "app"}})
	defer c.Close()
	_, err := c.Publish(context.Background(), &broker.Message{Topic: "secret/plans"})
	fmt.Println(err)
	_, err = c.Subscribe("#", 0, func(*broker.Message) {})
	fmt.Println(err)
	// Output:
	// not authorized
	// not authorized
}

// stamp is a PublishHook that adds a user property to every message.
type stamp struct{}

func (stamp) OnPublish(c *broker.ClientInfo, m *broker.Message) error {
	m.UserProperties = append(m.UserProperties, broker.UserProperty{Key: "via", Value: "tern"})
	return nil
}

func ExamplePublishHook() {
	b, _ := broker.New(broker.WithHooks(stamp{}))
	defer b.Close()
	got := make(chan *broker.Message, 1)
	cancel, _ := b.Subscribe("t", 0, func(m *broker.Message) { got <- m })
	defer cancel()
	_ = b.Publish("t", []byte("x"), 0, false)
	fmt.Println((<-got).UserProperties)
	// Output: [{via tern}]
}

// audit logs subscriptions after they take effect.
type audit struct{ lines chan string }

func (a audit) OnSubscribed(c *broker.ClientInfo, s broker.Subscription) {
	a.lines <- fmt.Sprintf("%s subscribed to %s at QoS %d", c.Listener, s.Filter, s.QoS)
}

func ExampleSubscribedHook() {
	a := audit{lines: make(chan string, 1)}
	b, _ := broker.New(broker.WithHooks(a))
	defer b.Close()
	cancel, _ := b.Subscribe("a/#", 1, func(*broker.Message) {})
	defer cancel()
	fmt.Println(<-a.lines)
	// Output: local subscribed to a/# at QoS 1
}

// lifecycle reports the broker's start and stop.
type lifecycle struct{}

func (lifecycle) OnStarted()  { fmt.Println("started") }
func (lifecycle) OnStopping() { fmt.Println("stopping") }
func (lifecycle) OnStopped()  { fmt.Println("stopped") }

func ExampleLifecycleHook() {
	b, _ := broker.New(broker.WithHooks(lifecycle{}))
	_ = b.Start(context.Background())
	_ = b.Close()
	// Output:
	// started
	// stopping
	// stopped
}

// retainedLog reports changes to retained messages.
type retainedLog struct{}

func (retainedLog) OnRetained(topic string, m *broker.Message) {
	if m == nil {
		fmt.Println("cleared", topic)
		return
	}
	fmt.Println("set", topic, string(m.Payload))
}

func ExampleRetainedHook() {
	b, _ := broker.New(broker.WithHooks(retainedLog{}))
	defer b.Close()
	_ = b.Publish("door", []byte("open"), 0, true)
	_ = b.DeleteRetained("door")
	// Output:
	// set door open
	// cleared door
}

// counter is a Metrics that counts published messages; NoMetrics
// provides every other method.
type counter struct {
	broker.NoMetrics
	n chan byte
}

func (c counter) MessagePublished(listener string, qos byte) { c.n <- qos }

func ExampleMetrics() {
	c := counter{n: make(chan byte, 1)}
	b, _ := broker.New(broker.WithMetrics(c))
	defer b.Close()
	_ = b.Publish("t", nil, 1, false)
	fmt.Println("published at QoS", <-c.n)
	// Output: published at QoS 1
}

func ExampleBroker_Disconnect() {
	b, _ := broker.New()
	defer b.Close()
	// A client that is not connected:
	fmt.Println(b.Disconnect("sensor-17", packets.AdministrativeAction, ""))
	// Output: broker: no such client
}
