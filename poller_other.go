//go:build !linux

package broker

import "errors"

// pollerSupported: parking is available on this system (Linux only, so
// far): elsewhere every connection keeps its goroutine.
const pollerSupported = false

// poller is Linux's (poller_linux.go); here it never exists.
type poller struct{}

func newPoller(*Broker) (*poller, error) { return nil, errors.New("no poller on this system") }

func (*poller) arm(*conn) bool { return false }
func (*poller) forget(*conn)   {}
func (*poller) loop()          {}
func (*poller) close()         {}
