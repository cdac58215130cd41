// Command custom_auth embeds a Tern broker with its own authentication and
// authorization: a user table, where what the Authenticator learns about a
// user (role, tenant) travels in ClientInfo.Attributes to the Authorizer.
//
// Admins may do anything; members may publish and subscribe under their
// tenant's topics (tenants/<tenant>/#) only.
package main

import (
	"context"
	"crypto/subtle"
	"flag"
	"log"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/listeners/tcp"
	"github.com/ternmq/broker/packets"
)

// user is one row of the user table.
type user struct {
	password string
	role     string // "admin" or "member"
	tenant   string
}

// users is the table; a real program would read a database.
var users = map[string]user{
	"alice": {password: "wonderland", role: "admin"},
	"bob":   {password: "builder", role: "member", tenant: "acme"},
}

// tableAuth authenticates against users and authorizes by role and tenant.
type tableAuth struct{}

// Authenticate checks the password and attaches the user's role and tenant.
func (tableAuth) Authenticate(_ context.Context, c *broker.Credentials) error {
	u, ok := users[c.Username]
	if !ok || subtle.ConstantTimeCompare([]byte(u.password), c.Password) != 1 {
		return packets.BadUserNameOrPassword
	}
	c.Attributes = map[string]any{"role": u.role, "tenant": u.tenant}
	return nil
}

// Authorize lets admins do anything and members act under their tenant.
func (tableAuth) Authorize(_ context.Context, c *broker.ClientInfo, a broker.Access) broker.Decision {
	if c.Attributes["role"] == "admin" {
		return broker.Allow()
	}
	tenant, _ := c.Attributes["tenant"].(string)
	if tenant != "" && strings.HasPrefix(a.Topic, "tenants/"+tenant+"/") {
		return broker.Allow()
	}
	return broker.Deny()
}

// newBroker returns a broker listening on addr with the table's rules.
func newBroker(addr string) (*broker.Broker, error) {
	l, err := tcp.New("tcp", addr)
	if err != nil {
		return nil, err
	}
	return broker.New(broker.WithListener(l), broker.WithAuthenticator(tableAuth{}), broker.WithAuthorizer(tableAuth{}))
}

func main() {
	addr := flag.String("addr", "127.0.0.1:1883", "address to listen on")
	flag.Parse()
	b, err := newBroker(*addr)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := b.Serve(ctx); err != nil {
		log.Fatal(err)
	}
}
