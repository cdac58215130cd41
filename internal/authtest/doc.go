// Package authtest holds what the tests of the auth packages and of
// mqttd's auth configuration share: a Tern broker and a real Mosquitto on
// random loopback ports, and one small client interface over the two Paho
// clients (paho.mqtt.golang for MQTT 3.1.1, paho.golang for MQTT 5), so
// that a table of operations can run against both brokers and both
// protocol versions.
package authtest
