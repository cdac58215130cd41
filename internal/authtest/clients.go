package authtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	paho5 "github.com/eclipse/paho.golang/paho"
	paho3 "github.com/eclipse/paho.mqtt.golang"
)

// Version is the protocol a Client speaks.
type Version int

// The protocol versions.
const (
	V311 Version = 4
	V5   Version = 5
)

func (v Version) String() string {
	if v == V5 {
		return "5"
	}
	return "3.1.1"
}

// Login is what a client presents in CONNECT.
type Login struct {
	ClientID string
	Username string // "" sends no user name
	Password string // "" sends no password
}

// Msg is a message a Client received.
type Msg struct {
	Topic   string
	Payload string
	Retain  bool
}

// Client is a connected Paho client of either version.
type Client interface {
	// Subscribe subscribes to one filter at QoS qos and returns the
	// SUBACK code (0x00-0x02 granted, 0x80 or a v5 reason code refused).
	Subscribe(filter string, qos byte) (byte, error)
	// Publish publishes at QoS 1 and returns the PUBACK reason code (v5;
	// always 0 for 3.1.1, whose PUBACK has none).
	Publish(topic, payload string, retain bool) (byte, error)
	// Messages is where received messages arrive, in order.
	Messages() <-chan Msg
	// Lost is closed when the broker ends the connection.
	Lost() <-chan struct{}
	// DisconnectCode is the reason code of the DISCONNECT the broker sent
	// (MQTT 5), and whether it sent one.
	DisconnectCode() (byte, bool)
	// Close disconnects.
	Close()
}

// Timeout bounds every client operation.
const Timeout = 5 * time.Second

// ErrRefused is wrapped by Connect's error when the broker refused the
// connection; the CONNACK code is returned beside it.
var ErrRefused = errors.New("connection refused")

// Connect connects a client of version v to addr. When the broker refuses,
// it returns the CONNACK code (3.1.1 return code or v5 reason code) and an
// error wrapping ErrRefused.
func Connect(v Version, addr string, l Login) (Client, byte, error) {
	if v == V5 {
		return connect5(addr, l)
	}
	return connect3(addr, l)
}

type client3 struct {
	c    paho3.Client
	msgs chan Msg
	lost *lostSignal
}

// lostSignal records the end of a connection the broker decided.
type lostSignal struct {
	once sync.Once
	ch   chan struct{}
	mu   sync.Mutex
	code byte
	sent bool
}

func newLost() *lostSignal { return &lostSignal{ch: make(chan struct{})} }

func (l *lostSignal) fire()                 { l.once.Do(func() { close(l.ch) }) }
func (l *lostSignal) Lost() <-chan struct{} { return l.ch }

func (l *lostSignal) setCode(c byte) {
	l.mu.Lock()
	l.code, l.sent = c, true
	l.mu.Unlock()
}

func (l *lostSignal) DisconnectCode() (byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.code, l.sent
}

func connect3(addr string, l Login) (Client, byte, error) {
	msgs := make(chan Msg, 1024)
	lost := newLost()
	o := paho3.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(l.ClientID).
		SetProtocolVersion(4).SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(Timeout).SetWriteTimeout(Timeout).SetOrderMatters(true).
		SetUsername(l.Username).SetPassword(l.Password).
		SetDefaultPublishHandler(func(_ paho3.Client, m paho3.Message) {
			msgs <- Msg{Topic: m.Topic(), Payload: string(m.Payload()), Retain: m.Retained()}
		}).
		SetConnectionLostHandler(func(paho3.Client, error) { lost.fire() })
	c := paho3.NewClient(o)
	tok := c.Connect()
	if !tok.WaitTimeout(Timeout) {
		c.Disconnect(0)
		return nil, 0, errors.New("CONNECT timed out")
	}
	code := tok.(*paho3.ConnectToken).ReturnCode()
	if err := tok.Error(); err != nil {
		if code != 0 {
			return nil, code, fmt.Errorf("%w: %v", ErrRefused, err)
		}
		return nil, 0, err
	}
	return &client3{c: c, msgs: msgs, lost: lost}, 0, nil
}

func (c *client3) Subscribe(filter string, qos byte) (byte, error) {
	tok := c.c.Subscribe(filter, qos, nil)
	if !tok.WaitTimeout(Timeout) {
		return 0, errors.New("SUBSCRIBE timed out")
	}
	// One filter, one code (the key is the filter without a $share prefix).
	for _, code := range tok.(*paho3.SubscribeToken).Result() {
		return code, nil
	}
	return 0, fmt.Errorf("no SUBACK code: %v", tok.Error())
}

func (c *client3) Publish(topic, payload string, retain bool) (byte, error) {
	tok := c.c.Publish(topic, 1, retain, payload)
	if !tok.WaitTimeout(Timeout) {
		return 0, errors.New("PUBLISH timed out")
	}
	return 0, tok.Error()
}

func (c *client3) Messages() <-chan Msg         { return c.msgs }
func (c *client3) Lost() <-chan struct{}        { return c.lost.Lost() }
func (c *client3) DisconnectCode() (byte, bool) { return c.lost.DisconnectCode() }
func (c *client3) Close()                       { c.c.Disconnect(100) }

type client5 struct {
	c    *paho5.Client
	msgs chan Msg
	lost *lostSignal
}

func connect5(addr string, l Login) (Client, byte, error) {
	conn, err := net.DialTimeout("tcp", addr, Timeout)
	if err != nil {
		return nil, 0, err
	}
	msgs := make(chan Msg, 1024)
	lost := newLost()
	c := paho5.NewClient(paho5.ClientConfig{
		Conn:          conn,
		PacketTimeout: Timeout,
		OnServerDisconnect: func(d *paho5.Disconnect) {
			lost.setCode(d.ReasonCode)
			lost.fire()
		},
		OnClientError: func(error) { lost.fire() },
		OnPublishReceived: []func(paho5.PublishReceived) (bool, error){func(p paho5.PublishReceived) (bool, error) {
			msgs <- Msg{Topic: p.Packet.Topic, Payload: string(p.Packet.Payload), Retain: p.Packet.Retain}
			return true, nil
		}},
	})
	cp := &paho5.Connect{ClientID: l.ClientID, CleanStart: true, KeepAlive: 30}
	if l.Username != "" {
		cp.Username, cp.UsernameFlag = l.Username, true
	}
	if l.Password != "" {
		cp.Password, cp.PasswordFlag = []byte(l.Password), true
	}
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		_ = conn.Close()
		if ca != nil && ca.ReasonCode >= 0x80 {
			return nil, ca.ReasonCode, fmt.Errorf("%w: %v", ErrRefused, err)
		}
		return nil, 0, err
	}
	return &client5{c: c, msgs: msgs, lost: lost}, 0, nil
}

func (c *client5) Subscribe(filter string, qos byte) (byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	sa, err := c.c.Subscribe(ctx, &paho5.Subscribe{Subscriptions: []paho5.SubscribeOptions{{Topic: filter, QoS: qos}}})
	if sa != nil && len(sa.Reasons) == 1 {
		return sa.Reasons[0], nil
	}
	if err == nil {
		err = errors.New("SUBACK without one reason code")
	}
	return 0, err
}

func (c *client5) Publish(topic, payload string, retain bool) (byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	pr, err := c.c.Publish(ctx, &paho5.Publish{Topic: topic, Payload: []byte(payload), QoS: 1, Retain: retain})
	if pr != nil {
		return pr.ReasonCode, nil
	}
	return 0, err
}

func (c *client5) Messages() <-chan Msg         { return c.msgs }
func (c *client5) Lost() <-chan struct{}        { return c.lost.Lost() }
func (c *client5) DisconnectCode() (byte, bool) { return c.lost.DisconnectCode() }

func (c *client5) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), Timeout)
	defer cancel()
	_ = c.c.Disconnect(&paho5.Disconnect{ReasonCode: 0})
	select {
	case <-c.c.Done():
	case <-ctx.Done():
	}
}

// Await reads c's messages until one has the payload want, and returns
// the messages before it. It fails after Timeout.
func Await(c Client, want string) ([]Msg, error) {
	var before []Msg
	tm := time.NewTimer(Timeout)
	defer tm.Stop()
	for {
		select {
		case m := <-c.Messages():
			if m.Payload == want {
				return before, nil
			}
			before = append(before, m)
		case <-tm.C:
			return before, fmt.Errorf("no message %q within %v (got %v)", want, Timeout, before)
		}
	}
}
