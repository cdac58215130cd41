package coap_test

import (
	"testing"
)

func TestDbg(t *testing.T) {
	bin := coapClient(t)
	e := start(t, nil)
	e.b.Publish("o/t", []byte("old"), 0, true)
	go func() {
		e.subscriptions(t, 1)
		e.b.Publish("o/t", []byte("new"), 0, false)
		e.b.Publish("o/t", make([]byte, 3000), 0, false)
	}()
	out, err := runCoapClient(t, bin, "-m", "get", "-v", "7", "-s", "2", "coap://"+e.coapAddr+"/ps/o/%23")
	t.Logf("observe: %s %v", out, err)
}
