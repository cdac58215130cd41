// Package httpbridge is an HTTP-to-MQTT bridge: clients that speak HTTP
// (a shell script with curl, a webhook, a browser's EventSource) publish,
// subscribe and read retained messages on the broker, under the same
// authentication, authorization, hooks and routing as MQTT clients.
//
//	l, err := httpbridge.New("http", "127.0.0.1:8080")
//	b, err := broker.New(broker.WithListener(l))
//
// The Listener is registered like any other; its Serve receives the broker
// as its listeners.Handler and uses the broker's in-process Client API
// (NewClient, Client.Publish, Client.Subscribe, Client.Retained).
//
// # Endpoints
//
//	POST   /publish?topic=T&qos=Q&retain=R   body = payload
//	POST   /publish/{topic...}
//	GET    /subscribe?filter=F&qos=Q          Server-Sent Events
//	GET    /subscribe?filter=F&wait=30s&max=N long poll, JSON
//	GET    /retained?topic=T                  one message, or an array for a filter
//	DELETE /retained?topic=T                  clears a retained message
//
// Every request is one broker.Client: it is authenticated (HTTP Basic, or
// a Bearer token handed over as the password with an empty user name),
// its ClientInfo.Listener is the listener's name and its Remote the TCP
// peer. Errors are JSON, {"error": "...", "reason_code": N}, with the
// MQTT 5 reason code and an HTTP status that fits it (see statusOf and
// README.md).
//
// # Streams and resumption
//
// A subscription over HTTP is a stream: a broker subscription feeding a
// bounded buffer (Limits.StreamBufferMessages and StreamBufferBytes). Each
// event's id is "<stream>-<seq>", the stream's random identifier and a
// sequence number that starts at 1. A client that reconnects with that id
// in Last-Event-ID (EventSource does it by itself) or in the last_event_id
// query parameter resumes the stream: every event after it is replayed
// from the buffer, then live ones follow. A stream outlives its request
// for Limits.ResumeWindow, buffering meanwhile; only the identity that
// opened it (the same user name and secret) and the same filter and QoS
// may resume it. When the events asked for are no longer buffered, or the
// stream is gone, a new stream starts (its "open" event says resumed:
// false) and the retained messages come again.
//
// A reader that falls behind never slows the broker: deliveries go into
// the stream's buffer without waiting; once the buffer holds only events
// the reader has not received and another arrives, the stream is closed
// and counted in Stats.SlowClosed. Long polls use the same streams: each
// poll returns the events after last_event_id (up to max) and the id to
// pass next time.
package httpbridge
