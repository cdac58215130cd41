// Package websocket is the MQTT-over-WebSocket listener (MQTT 5.0 section
// 6, MQTT 3.1.1 section 6), for browsers and for networks that pass only
// HTTP.
//
// The client must offer the WebSocket subprotocol "mqtt" (or "mqttv3.1",
// as MQTT 3.1 clients do) [MQTT-6.0.0-3]; an upgrade request that offers
// neither is refused with 400 Bad Request. MQTT travels in binary frames
// [MQTT-6.0.0-1]: a frame may carry part of a packet or several packets
// [MQTT-6.0.0-2], and a text frame closes the connection (close code 1003).
//
// New listens on an address of its own and serves the upgrade at one path
// (/mqtt by default), over TLS (wss) with WithTLS. Handler returns the
// upgrade as an http.Handler, so that a program serves MQTT next to its own
// HTTP API on one port:
//
//	mux := http.NewServeMux()
//	mux.Handle("/mqtt", websocket.Handler(b))
//	mux.HandleFunc("/api/", api)
//
// Idle connections are kept small: write buffers come from a pool shared by
// the listener's connections and are held only while a message is written,
// and the read buffer is ReadBufferSize bytes.
package websocket
