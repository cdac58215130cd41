package passwd_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/ternmq/broker/auth/passwd"
)

// FuzzParse: any string parses as a stored hash or fails with ErrFormat,
// never a panic; what parses starts like a hash (IsHash) and has bounded
// work factors (checked by Parse: MaxPBKDF2Iterations, MaxArgon2Memory,
// MaxArgon2Time).
func FuzzParse(f *testing.F) {
	if file, err := os.Open("testdata/mosquitto.pwfile"); err == nil {
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			if _, h, ok := strings.Cut(sc.Text(), ":"); ok {
				f.Add(h)
			}
		}
		file.Close()
	}
	for _, s := range []string{
		"$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdA$aGFzaA",
		"$7$0$$", "$6$$", "$2b$10$", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := passwd.Parse(s)
		if err != nil {
			return
		}
		if !passwd.IsHash(s) {
			t.Errorf("%q parsed as %v but IsHash says no", s, h.Scheme())
		}
	})
}
