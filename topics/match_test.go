package topics

import "testing"

// matchCases are the spec's examples and the edges around them; the trie
// and the retained index are checked against them as well.
var matchCases = []struct {
	name          string
	filter, topic string
	want          bool
}{
	{"exact", "sport/tennis/player1", "sport/tennis/player1", true},
	{"exact differs", "sport/tennis/player1", "sport/tennis/player2", false},
	{"no normalization: case sensitive [MQTT-4.7.3-4]", "ACCOUNTS", "Accounts", false},
	{"prefix is not a match", "sport/tennis", "sport/tennis/player1", false},
	{"longer filter", "sport/tennis/player1", "sport/tennis", false},
	{"hash matches the parent [MQTT-4.7.1-2]", "sport/tennis/player1/#", "sport/tennis/player1", true},
	{"hash matches one level below [MQTT-4.7.1-2]", "sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
	{"hash matches two levels below [MQTT-4.7.1-2]", "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
	{"sport/# matches sport [MQTT-4.7.1-2]", "sport/#", "sport", true},
	{"hash does not match a sibling [MQTT-4.7.1-2]", "sport/#", "sports", false},
	{"hash alone matches everything [MQTT-4.7.1-2]", "#", "sport/tennis/player1", true},
	{"hash alone matches a leading separator [MQTT-4.7.1-2]", "#", "/finance", true},
	{"hash matches an empty last level [MQTT-4.7.1-2]", "a/#", "a/", true},
	{"hash not last matches nothing [MQTT-4.7.1-2]", "a/#/b", "a/x/b", false},
	{"plus matches one level [MQTT-4.7.1-3]", "sport/tennis/+", "sport/tennis/player1", true},
	{"plus does not match two levels [MQTT-4.7.1-3]", "sport/tennis/+", "sport/tennis/player1/ranking", false},
	{"plus does not match no level [MQTT-4.7.1-3]", "sport/+", "sport", false},
	{"plus matches an empty level [MQTT-4.7.1-3]", "sport/+", "sport/", true},
	{"plus/plus matches /finance [MQTT-4.7.1-3]", "+/+", "/finance", true},
	{"/plus matches /finance [MQTT-4.7.1-3]", "/+", "/finance", true},
	{"plus does not match /finance [MQTT-4.7.1-3]", "+", "/finance", false},
	{"plus in the middle [MQTT-4.7.1-3]", "a/+/c", "a/b/c", true},
	{"plus in the middle, empty level [MQTT-4.7.1-3]", "a/+/c", "a//c", true},
	{"plus then hash [MQTT-4.7.1-3]", "+/tennis/#", "sport/tennis/player1", true},
	{"plus then hash matches the parent", "+/#", "a", true},
	{"empty levels are distinct", "a//b", "a/b", false},
	{"hash does not match $ topics [MQTT-4.7.2-1]", "#", "$SYS/monitor/Clients", false},
	{"plus does not match $ topics [MQTT-4.7.2-1]", "+/monitor/Clients", "$SYS/monitor/Clients", false},
	{"$SYS/# matches $SYS topics [MQTT-4.7.2-1]", "$SYS/#", "$SYS/monitor/Clients", true},
	{"$SYS/monitor/+ [MQTT-4.7.2-1]", "$SYS/monitor/+", "$SYS/monitor/Clients", true},
	{"$ only counts at the start [MQTT-4.7.2-1]", "+/#", "a/$SYS", true},
	{"shared filter matches as its inner filter [MQTT-4.8.2]", "$share/g/sport/+", "sport/tennis", true},
	{"shared filter does not match its own text [MQTT-4.8.2]", "$share/g/sport/+", "$share/g/sport/x", false},
	{"shared hash does not match $ topics [MQTT-4.7.2-1]", "$share/g/#", "$SYS/x", false},
	{"empty topic", "#", "", false},
	{"empty filter", "", "a", false},
}

func TestMatch(t *testing.T) {
	for _, tt := range matchCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := Match(tt.filter, tt.topic); got != tt.want {
				t.Errorf("Match(%q, %q) = %v, want %v", tt.filter, tt.topic, got, tt.want)
			}
		})
	}
}

func TestIsWildcard(t *testing.T) {
	tests := []struct {
		filter string
		want   bool
	}{
		{"a/b", false}, {"", false}, {"$SYS/x", false},
		{"+", true}, {"a/+/b", true}, {"#", true}, {"a/#", true}, {"$share/g/a/+", true},
	}
	for _, tt := range tests {
		if got := IsWildcard(tt.filter); got != tt.want {
			t.Errorf("IsWildcard(%q) = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

func TestParseShared(t *testing.T) {
	tests := []struct {
		name, filter, group, inner string
		shared                     bool
	}{
		{"shared [MQTT-4.8.2]", "$share/g/a/b", "g", "a/b", true},
		{"shared wildcard filter [MQTT-4.8.2]", "$share/consumers/#", "consumers", "#", true},
		{"shared empty first level", "$share/g//a", "g", "/a", true},
		{"plain", "a/b", "", "a/b", false},
		{"plain $share without separator", "$share", "", "$share", false},
		{"plain $sharex", "$sharex/g/a", "", "$sharex/g/a", false},
		{"invalid: no filter, still shared", "$share/g", "g", "", true},
		{"invalid: empty group, still shared", "$share//a", "", "a", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, in, sh := ParseShared(tt.filter)
			if g != tt.group || in != tt.inner || sh != tt.shared {
				t.Errorf("ParseShared(%q) = %q, %q, %v, want %q, %q, %v", tt.filter, g, in, sh, tt.group, tt.inner, tt.shared)
			}
		})
	}
}
