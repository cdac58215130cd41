package topics

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidateName(t *testing.T) {
	tests := []struct {
		name  string
		topic string
		want  error
	}{
		{"one level", "a", nil},
		{"several levels", "sport/tennis/player1", nil},
		{"empty levels are levels [MQTT-4.7.1-1]", "a//b", nil},
		{"only a separator", "/", nil},
		{"leading and trailing separator", "/finance/", nil},
		{"dollar topic", "$SYS/broker/load", nil},
		{"space is a valid character", "a b/ c", nil},
		{"multibyte UTF-8", "häuser/€/𝄞", nil},
		{"shared prefix is a plain name", "$share/g/a", nil},
		{"65535 bytes [MQTT-4.7.3-3]", strings.Repeat("a", MaxLen), nil},
		{"empty [MQTT-4.7.3-1]", "", ErrEmptyTopic},
		{"65536 bytes [MQTT-4.7.3-3]", strings.Repeat("a", MaxLen+1), ErrTooLong},
		{"plus level [MQTT-3.3.2-2]", "a/+/b", ErrWildcardInName},
		{"plus inside a level [MQTT-3.3.2-2]", "a/b+", ErrWildcardInName},
		{"hash level [MQTT-3.3.2-2]", "a/#", ErrWildcardInName},
		{"hash alone [MQTT-4.7.1-1]", "#", ErrWildcardInName},
		{"U+0000 [MQTT-4.7.3-2]", "a\x00b", ErrNullChar},
		{"invalid UTF-8 [MQTT-1.5.4-1]", "a/\xff", ErrInvalidUTF8},
		{"UTF-16 surrogate [MQTT-1.5.4-1]", "\xed\xa0\x80", ErrInvalidUTF8},
		{"truncated sequence [MQTT-1.5.4-1]", "\xe2\x82", ErrInvalidUTF8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidateName([]byte(tt.topic)); got != tt.want {
				t.Errorf("ValidateName(%.40q) = %v, want %v", tt.topic, got, tt.want)
			}
		})
	}
}

func TestValidateFilter(t *testing.T) {
	tests := []struct {
		name   string
		filter string
		want   error
	}{
		{"exact", "sport/tennis/player1", nil},
		{"hash last [MQTT-4.7.1-2]", "sport/tennis/#", nil},
		{"hash alone [MQTT-4.7.1-2]", "#", nil},
		{"hash after empty level [MQTT-4.7.1-2]", "/#", nil},
		{"plus alone [MQTT-4.7.1-3]", "+", nil},
		{"plus first [MQTT-4.7.1-3]", "+/tennis/#", nil},
		{"plus middle [MQTT-4.7.1-3]", "sport/+/player1", nil},
		{"plus last [MQTT-4.7.1-3]", "sport/+", nil},
		{"plus after empty level [MQTT-4.7.1-3]", "/+", nil},
		{"plus twice [MQTT-4.7.1-3]", "+/+", nil},
		{"plus and hash", "+/#", nil},
		{"dollar filter", "$SYS/#", nil},
		{"empty levels", "a//b/", nil},
		{"multibyte UTF-8", "häuser/+/€", nil},
		{"$share alone is a plain filter", "$share", nil},
		{"$sharex is a plain filter", "$sharex/g/a", nil},
		{"65535 bytes", strings.Repeat("a", MaxLen), nil},
		{"empty [MQTT-4.7.3-1]", "", ErrEmptyTopic},
		{"65536 bytes", strings.Repeat("a", MaxLen+1), ErrTooLong},
		{"U+0000 [MQTT-4.7.3-2]", "a/\x00", ErrNullChar},
		{"invalid UTF-8 [MQTT-1.5.4-1]", "a/\xc3", ErrInvalidUTF8},
		{"hash inside a level [MQTT-4.7.1-2]", "sport/tennis#", ErrInvalidFilter},
		{"hash not last [MQTT-4.7.1-2]", "sport/tennis/#/ranking", ErrInvalidFilter},
		{"hash before separator [MQTT-4.7.1-2]", "#/", ErrInvalidFilter},
		{"hash twice [MQTT-4.7.1-2]", "##", ErrInvalidFilter},
		{"plus inside a level [MQTT-4.7.1-3]", "sport+", ErrInvalidFilter},
		{"plus before text [MQTT-4.7.1-3]", "+a/b", ErrInvalidFilter},
		{"plus and hash in a level [MQTT-4.7.1-3]", "+#", ErrInvalidFilter},
		{"shared [MQTT-4.8.2-1]", "$share/g/a/b", nil},
		{"shared with wildcards [MQTT-4.8.2-1]", "$share/g/+/#", nil},
		{"shared hash only [MQTT-4.8.2-1]", "$share/consumers/#", nil},
		{"shared empty first level [MQTT-4.8.2-1]", "$share/g//a", nil},
		{"shared empty group [MQTT-4.8.2-1]", "$share//a", ErrInvalidShared},
		{"shared no filter [MQTT-4.8.2-1]", "$share/g", ErrInvalidShared},
		{"shared empty filter [MQTT-4.8.2-1]", "$share/g/", ErrInvalidShared},
		{"shared nothing [MQTT-4.8.2-1]", "$share/", ErrInvalidShared},
		{"shared group with plus [MQTT-4.8.2-2]", "$share/g+/a", ErrInvalidShared},
		{"shared group with hash [MQTT-4.8.2-2]", "$share/#/a", ErrInvalidShared},
		{"shared group with U+0000 [MQTT-4.7.3-2]", "$share/g\x00/a", ErrNullChar},
		{"shared group not UTF-8 [MQTT-1.5.4-1]", "$share/\xff/a", ErrInvalidUTF8},
		{"shared inner hash not last [MQTT-4.7.1-2]", "$share/g/#/a", ErrInvalidFilter},
		{"shared inner plus in a level [MQTT-4.7.1-3]", "$share/g/a+", ErrInvalidFilter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidateFilter([]byte(tt.filter)); got != tt.want {
				t.Errorf("ValidateFilter(%.40q) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func TestValidateNoAlloc(t *testing.T) {
	name, filter := []byte("sport/tennis/player1/ränking"), []byte("$share/g/sport/+/player1/#")
	if n := testing.AllocsPerRun(100, func() {
		_ = ValidateName(name)
		_ = ValidateFilter(filter)
	}); n != 0 {
		t.Errorf("%v allocations per run, want 0", n)
	}
}

// validFilter is ValidateFilter written from the spec text, level by
// level, for FuzzValidateFilter to compare against.
func validFilter(f string) bool {
	if f == "" || len(f) > MaxLen || strings.ContainsRune(f, 0) || !utf8.ValidString(f) {
		return false
	}
	if rest, ok := strings.CutPrefix(f, "$share/"); ok {
		group, inner, found := strings.Cut(rest, "/")
		if !found || group == "" || inner == "" || strings.ContainsAny(group, "+#") {
			return false
		}
		f = inner
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		if strings.Contains(l, "#") && (l != "#" || i != len(levels)-1) {
			return false
		}
		if strings.Contains(l, "+") && l != "+" {
			return false
		}
	}
	return true
}

func FuzzValidateFilter(f *testing.F) {
	for _, s := range []string{
		"#", "+", "a/#", "a/+/b", "a/#/b", "a+", "+a", "##", "/", "//",
		"$share/g/a", "$share/g/", "$share//a", "$share/g+/a", "$share/g",
		"$SYS/#", "\x00", "\xff", "ü/+",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := ValidateFilter(b)
		if want := validFilter(string(b)); (err == nil) != want {
			t.Fatalf("ValidateFilter(%q) = %v, spec says valid=%v", b, err, want)
		}
		if err != nil {
			if !errors.Is(err, ErrEmptyTopic) && !errors.Is(err, ErrTooLong) && !errors.Is(err, ErrNullChar) &&
				!errors.Is(err, ErrInvalidUTF8) && !errors.Is(err, ErrInvalidFilter) && !errors.Is(err, ErrInvalidShared) {
				t.Fatalf("ValidateFilter(%q) = %v, not a documented error", b, err)
			}
			return
		}
		// A valid filter without wildcards or shared prefix is a valid name.
		s := string(b)
		if _, _, shared := ParseShared(s); !shared && !IsWildcard(s) {
			if err := ValidateName(b); err != nil {
				t.Fatalf("ValidateName(%q) = %v for a valid plain filter", b, err)
			}
		}
	})
}
