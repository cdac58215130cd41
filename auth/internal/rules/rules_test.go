package rules

import (
	"testing"

	"github.com/ternmq/broker"
)

func TestDecide(t *testing.T) {
	r, err := Compile("acl",
		[]string{"devices/%c/out", "users/%u/#", "public/+"},
		[]string{"devices/%c/in/#", "users/%u/#", "public/#"},
		[]string{"users/%u/private/#", "public/secret"})
	if err != nil {
		t.Fatal(err)
	}
	dev := &broker.ClientInfo{ID: "d1", Username: "ann"}
	anon := &broker.ClientInfo{ID: "d2"}
	bad := &broker.ClientInfo{ID: "d+", Username: "a#"}
	pub := func(s string) broker.Access { return broker.Access{Action: broker.ActionPublish, Topic: s} }
	sub := func(s string) broker.Access { return broker.Access{Action: broker.ActionSubscribe, Topic: s} }
	read := func(s string) broker.Access { return broker.Access{Action: broker.ActionRead, Topic: s} }
	cases := []struct {
		name string
		c    *broker.ClientInfo
		a    broker.Access
		want bool
	}{
		{"publish own device", dev, pub("devices/d1/out"), true},
		{"publish another device", dev, pub("devices/d2/out"), false},
		{"publish own user tree", dev, pub("users/ann/x/y"), true},
		{"publish denied corner", dev, pub("users/ann/private/x"), false},
		{"publish public level", dev, pub("public/news"), true},
		{"publish public denied", dev, pub("public/secret"), false},
		{"publish unlisted", dev, pub("other"), false},
		{"subscribe own inbox", dev, sub("devices/d1/in/#"), true},
		{"subscribe inside own inbox", dev, sub("devices/d1/in/+/x"), true},
		{"subscribe wider than granted", dev, sub("devices/+/in/#"), false},
		{"subscribe shared own inbox", dev, sub("$share/g/devices/d1/in/a"), true},
		{"subscribe public, deny inside", dev, sub("public/#"), true},
		{"subscribe the denied topic", dev, sub("public/secret"), false},
		{"subscribe under a deny", dev, sub("users/ann/private/+"), false},
		{"read public", dev, read("public/news"), true},
		{"read denied", dev, read("public/secret"), false},
		{"read own tree", dev, read("users/ann/a"), true},
		{"anonymous: %u rules do not apply", anon, pub("users//x"), false},
		{"anonymous: %c rules do", anon, pub("devices/d2/out"), true},
		{"wildcard identity: grants with it do not apply", bad, sub("devices/d+/in/#"), false},
		{"wildcard identity: denies with it apply to all", bad, read("public/news"), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := r.Decide(c.c, c.a).Allowed(); got != c.want {
				t.Fatalf("%v", got)
			}
		})
	}
}

func TestCompileRefusesBadFilters(t *testing.T) {
	for _, f := range []string{"a/#/b", "", "a+", "%u#"} {
		if _, err := Compile("acl", []string{f}, nil, nil); err == nil {
			t.Errorf("%q accepted", f)
		}
	}
}

func TestNilRulesDenyEverything(t *testing.T) {
	var r *Rules
	if r.Decide(&broker.ClientInfo{}, broker.Access{Action: broker.ActionRead, Topic: "a"}).Allowed() {
		t.Fatal("allowed")
	}
}
