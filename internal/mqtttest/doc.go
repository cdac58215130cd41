// Package mqtttest is a raw MQTT client for tests: it writes packets and
// bytes exactly as the test says and reads what the broker answers, for
// conversations a polite client library never has (malformed packets, a
// PUBLISH left unacknowledged, a connection dropped mid-flow).
package mqtttest
