// Package coap bridges CoAP (RFC 7252) over UDP to the broker, so that
// constrained devices publish, read retained messages and observe topics
// the way MQTT clients publish and subscribe, under the same
// authentication, authorization, retained store and routing.
//
// Register it like any listener; its Serve needs the *broker.Broker as
// Handler (see Broker):
//
//	l, err := coap.New("coap", ":5683", coap.WithIdentity("sensors", nil))
//	b, err := broker.New(broker.WithListener(l))
//
// Resources live under /ps/ (the shape of the IETF CoAP pub-sub draft); the
// rest of the path is the topic, one Uri-Path option per level:
//
//	POST or PUT /ps/{topic}?qos=1&retain=1  publish the payload
//	GET /ps/{topic}                         the retained message (4.04: none)
//	GET /ps/{filter} with Observe: 0        subscribe (RFC 7641)
//	GET with Observe: 1, or a Reset         unsubscribe
//	DELETE /ps/{topic}                      clear the retained message
//
// A filter's wildcards are path segments: /ps/sensors/+/temp, and
// /ps/sensors/%23 for "#" (which a URI must percent-encode).
// Notifications carry an increasing Observe number; messages delivered at
// QoS 1 or 2 go in confirmable notifications, and a peer that stops
// acknowledging them, or stops answering pings once silent for the
// inactivity timeout, is dropped. Content-Format maps to and from the MQTT
// 5 Content Type. Payloads larger than a block travel block-wise (RFC 7959)
// both ways. README.md has the full mapping of requests, options and
// response codes.
//
// Every request acts through a broker.Client made with the listener's
// identity (WithIdentity) or, with WithQueryCredentials, the request's own
// (?u=&p= or ?t=). The clients of a peer are kept while it is active, as an
// MQTT connection is.
package coap
