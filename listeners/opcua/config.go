package opcua

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ternmq/broker"
)

// Defaults: the one table read by the package, mqttd and the README.
const (
	// DefaultNamespace is the namespace URI of server mode.
	DefaultNamespace = "urn:tern:mqtt"
	// DefaultRootName is the browse name of server mode's root folder,
	// under Objects.
	DefaultRootName = "MQTT"
	// DefaultMaxNodes bounds the variable nodes server mode creates.
	DefaultMaxNodes = 10000
	// DefaultHandshakeTimeout bounds an OPC UA client's Hello.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultPublishingInterval is client mode's subscription interval.
	DefaultPublishingInterval = 100 * time.Millisecond
	// DefaultReconnectMin and DefaultReconnectMax bound client mode's
	// reconnection backoff (doubling from min to max).
	DefaultReconnectMin = 500 * time.Millisecond
	DefaultReconnectMax = 30 * time.Second
	// DefaultRequestTimeout bounds one OPC UA request of client mode
	// (connect, subscribe, write) and one MQTT publish of either mode.
	DefaultRequestTimeout = 5 * time.Second
	// DefaultQueueSize is the queue size client mode asks for each
	// monitored item: changes faster than the publishing interval are
	// kept, up to this many, rather than merged.
	DefaultQueueSize = 100
)

// Encoding says how an MQTT payload maps to an OPC UA Variant in server
// mode (see README.md for the table).
type Encoding string

// Encodings of server mode.
const (
	// EncodingString: the payload is UTF-8 text, a String.
	EncodingString Encoding = "string"
	// EncodingJSON: a JSON number is a Double, true/false a Boolean, a
	// string a String; an object or array is a String holding its JSON.
	EncodingJSON Encoding = "json"
	// EncodingNumber: the payload is a decimal number as text, a Double.
	EncodingNumber Encoding = "number"
	// EncodingBytes: the payload is a ByteString, as is.
	EncodingBytes Encoding = "bytes"
)

// Encodings lists the valid encodings.
var Encodings = []Encoding{EncodingString, EncodingJSON, EncodingNumber, EncodingBytes}

// Valid reports whether e is one of Encodings.
func (e Encoding) Valid() bool {
	for _, v := range Encodings {
		if e == v {
			return true
		}
	}
	return false
}

// PayloadFormat says how client mode writes a data change as an MQTT
// payload.
type PayloadFormat string

// Payload formats of client mode.
const (
	// PayloadJSON: {"value":..., "type":"Double", "status":"Good",
	// "source_timestamp":"...", "server_timestamp":"..."}.
	PayloadJSON PayloadFormat = "json"
	// PayloadRaw: the value alone, as text (numbers, booleans, strings),
	// as is (ByteString) or as JSON (arrays, structures).
	PayloadRaw PayloadFormat = "raw"
)

// Identity is who the bridge acts as towards the broker: its publishes and
// subscriptions are authenticated (Authenticator) and authorized
// (Authorizer) as this client. Empty fields are allowed; an empty ClientID
// gets a generated one.
type Identity struct {
	ClientID string
	Username string
	Password string
}

// credentials returns the broker credentials of id on listener.
func (id Identity) credentials(listener string) *broker.Credentials {
	c := &broker.Credentials{ClientInfo: broker.ClientInfo{ID: id.ClientID, Username: id.Username, Listener: listener}}
	if id.Password != "" {
		c.Password = []byte(id.Password)
	}
	return c
}

// host is what Serve needs of its Handler: the *broker.Broker implements
// it.
type host interface {
	NewClient(ctx context.Context, creds *broker.Credentials) (*broker.Client, error)
}

// hostPublisher is the broker's own publish (Broker.Publish), allowed on
// $SYS topics that clients may not publish to.
type hostPublisher interface {
	Publish(topic string, payload []byte, qos byte, retain bool) error
}

// logger returns l, or a logger that discards when l is nil.
func logger(l *slog.Logger) *slog.Logger {
	if l != nil {
		return l
	}
	return slog.New(slog.DiscardHandler)
}

// gopcuaLogger adapts a *slog.Logger to gopcua's server logger, whose
// messages are printf formats. gopcua logs routine events (a channel
// closed) as warnings and errors, so they go to Debug, errors to Info.
type gopcuaLogger struct{ l *slog.Logger }

func (g gopcuaLogger) Debug(msg string, args ...any) { g.log(slog.LevelDebug, msg, args) }
func (g gopcuaLogger) Info(msg string, args ...any)  { g.log(slog.LevelDebug, msg, args) }
func (g gopcuaLogger) Warn(msg string, args ...any)  { g.log(slog.LevelDebug, msg, args) }
func (g gopcuaLogger) Error(msg string, args ...any) { g.log(slog.LevelInfo, msg, args) }

func (g gopcuaLogger) log(level slog.Level, msg string, args []any) {
	if !g.l.Enabled(context.Background(), level) {
		return
	}
	g.l.Log(context.Background(), level, "opcua: "+fmt.Sprintf(msg, args...))
}
