package cluster

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBrokersList(t *testing.T) {
	// brokers/<id> lists the instances whose wills are not all published,
	// the current one last; a bare id (the previous version's value) is a
	// list of one, and the list keeps the last maxBrokers.
	var many []string
	for i := range maxBrokers + 3 {
		many = append(many, fmt.Sprint("b", i))
	}
	for _, tt := range []struct {
		name    string
		stored  string
		current string
		want    []string
	}{
		{"first start", "", "b1", []string{"b1"}},
		{"previous version's bare id", "b0", "b1", []string{"b0", "b1"}},
		{"list", `["b0","b1"]`, "b2", []string{"b0", "b1", "b2"}},
		{"current not twice", `["b0","b1"]`, "b1", []string{"b0", "b1"}},
		{"bounded", brokersValue(many[:maxBrokers+2], "x"), "y", append(append([]string(nil), many[4:maxBrokers+2]...), "x", "y")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := parseBrokers([]byte(brokersValue(parseBrokers([]byte(tt.stored)), tt.current)))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("list (-want +got):\n%s", diff)
			}
		})
	}
}
