// Package brokertest runs a Tern broker inside a Go test, for testing an
// application against a real MQTT broker without a process or a fixed
// port:
//
//	func TestMyApp(t *testing.T) {
//		b := brokertest.New(t)                  // closed by t.Cleanup
//		app := myapp.Connect(b.URL)             // any MQTT client library
//		app.Start()
//		msgs := b.Await(t, "alerts/#", 1, 5*time.Second)
//		...
//	}
//
// The broker listens on a random loopback port (Addr, URL) and can also
// serve in-memory connections (Dial). Every message published to it is
// recorded (Published, Await, AssertNoMessage). A Clock passed with
// broker.WithClock lets a test advance session expiry, will delays and
// message expiry instead of waiting for them. At cleanup the broker is
// closed and the test fails if a goroutine of the broker is left.
package brokertest
