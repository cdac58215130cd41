// Package measure holds measurements of the listeners that are not part of
// CI: idle memory per connection for each transport, and the TLS handshake
// rate of Tern beside Mosquitto's. They run only with TERN_MEASURE=1:
//
//	TERN_MEASURE=1 go test -run . -v ./listeners/internal/measure/
//
// The broker runs in a child process (this test binary, re-executed), so
// that the clients' memory and CPU are not counted as the broker's.
package measure
