// Package unix is the MQTT listener on a Unix domain socket, for clients on
// the same host (a sidecar, a local daemon) that file permissions should
// admit rather than the network.
//
// A stale socket file left by a process that died is replaced at start; a
// socket another process still serves is not (New fails), and neither is a
// file that is not a socket. The socket file is removed on Close.
package unix
