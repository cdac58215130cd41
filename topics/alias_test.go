package topics

import (
	"strconv"
	"testing"
)

func TestAliasesIn(t *testing.T) {
	a := NewAliasesIn(3, 0)
	steps := []struct {
		name  string
		alias uint16
		topic string
		want  string
		err   error
	}{
		{"alias 0 [MQTT-3.3.2-8]", 0, "a", "", ErrAliasInvalid},
		{"above the maximum [MQTT-3.3.2-9]", 4, "a", "", ErrAliasInvalid},
		{"unknown alias, empty topic", 1, "", "", ErrAliasUnknown},
		{"set alias [MQTT-3.3.2-12]", 1, "sport/tennis", "sport/tennis", nil},
		{"use alias", 1, "", "sport/tennis", nil},
		{"set the maximum alias [MQTT-3.3.2-12]", 3, "x", "x", nil},
		{"use the maximum alias", 3, "", "x", nil},
		{"alias 2 still unknown", 2, "", "", ErrAliasUnknown},
		{"replace a mapping", 1, "a/much/longer/topic", "a/much/longer/topic", nil},
		{"use the replaced mapping", 1, "", "a/much/longer/topic", nil},
		{"shorter replacement reuses storage", 1, "b", "b", nil},
		{"use the shorter mapping", 1, "", "b", nil},
		{"others untouched", 3, "", "x", nil},
	}
	for _, s := range steps {
		got, err := a.Resolve(s.alias, []byte(s.topic))
		if err != s.err || string(got) != s.want {
			t.Errorf("%s: Resolve(%d, %q) = %q, %v, want %q, %v", s.name, s.alias, s.topic, got, err, s.want, s.err)
		}
	}
}

// TestAliasesInCopies checks that the mapping survives the reuse of the
// packet buffer the topic came in.
func TestAliasesInCopies(t *testing.T) {
	a := NewAliasesIn(10, 0)
	buf := []byte("a/b")
	if _, err := a.Resolve(5, buf); err != nil {
		t.Fatal(err)
	}
	copy(buf, "x/y")
	if got, err := a.Resolve(5, nil); err != nil || string(got) != "a/b" {
		t.Errorf("Resolve(5) = %q, %v after the buffer changed, want a/b", got, err)
	}
	if n := testing.AllocsPerRun(100, func() {
		_, _ = a.Resolve(5, buf)
		_, _ = a.Resolve(5, nil)
	}); n != 0 {
		t.Errorf("%v allocations per Resolve pair, want 0", n)
	}
}

func TestAliasesInNoAliases(t *testing.T) {
	for _, a := range []*AliasesIn{NewAliasesIn(0, 0), nil} {
		if _, err := a.Resolve(1, []byte("a")); err != ErrAliasInvalid {
			t.Errorf("Resolve with maximum 0 = %v, want ErrAliasInvalid [MQTT-3.3.2-9]", err)
		}
	}
	a := NewAliasesIn(65535, 0)
	if got, err := a.Resolve(65535, []byte("t")); err != nil || string(got) != "t" {
		t.Errorf("Resolve(65535) = %q, %v, want t [MQTT-3.3.2-12]", got, err)
	}
}

func TestAliasesOut(t *testing.T) {
	a := NewAliasesOut(2)
	steps := []struct {
		topic string
		alias uint16
		known bool
	}{
		{"a", 1, false}, // new: send topic and alias, never alias 0 [MQTT-3.3.2-8]
		{"a", 1, true},  // known: empty topic may go
		{"b", 2, false},
		{"c", 0, false}, // used up, none above the maximum [MQTT-3.3.2-11]
		{"b", 2, true},
		{"c", 0, false},
		{"a", 1, true},
	}
	for i, s := range steps {
		alias, known := a.Lookup(s.topic)
		if alias != s.alias || known != s.known {
			t.Errorf("step %d: Lookup(%q) = %d, %v, want %d, %v", i, s.topic, alias, known, s.alias, s.known)
		}
	}
	for _, a := range []*AliasesOut{NewAliasesOut(0), nil} {
		for range 2 {
			if alias, known := a.Lookup("a"); alias != 0 || known {
				t.Errorf("Lookup with maximum 0 = %d, %v, want 0, false", alias, known)
			}
		}
	}
}

func TestAliasesOutAll(t *testing.T) {
	a := NewAliasesOut(65535)
	for i := range 65536 {
		topic := "t/" + strconv.Itoa(i)
		alias, known := a.Lookup(topic)
		want := uint16(i + 1)
		if i == 65535 {
			want = 0
		}
		if alias != want || known {
			t.Fatalf("Lookup #%d = %d, %v, want %d, false", i, alias, known, want)
		}
	}
}

func TestAliasesInByteBudget(t *testing.T) {
	a := NewAliasesIn(10, 100)
	if _, err := a.Resolve(1, make([]byte, 60)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Resolve(2, make([]byte, 60)); err != ErrAliasBytes {
		t.Fatalf("second 60-byte topic: %v, want ErrAliasBytes", err)
	}
	// Replacing an alias counts the new topic instead of the old one.
	if _, err := a.Resolve(1, make([]byte, 90)); err != nil {
		t.Fatalf("replacing: %v", err)
	}
	if got, err := a.Resolve(1, nil); err != nil || len(got) != 90 {
		t.Fatalf("resolve: %d %v", len(got), err)
	}
}
