package file

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/ternmq/broker/auth/internal/filters"
)

// addTestdata seeds f with the files of testdata.
func addTestdata(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
}

// FuzzParseACL: any ACL file parses or fails with an error naming the
// line, never a panic; every rule of a parsed file has a valid filter and
// one access type.
func FuzzParseACL(f *testing.F) {
	addTestdata(f)
	f.Add([]byte("topic read a/#\nuser bob\ntopic deny a/b c\npattern write d/%u/%c\n"))
	f.Add([]byte("topic\nuser\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rs, err := parseACL("fuzz.acl", data)
		if err != nil {
			return
		}
		all := append(append([]rule(nil), rs.anon...), rs.patterns...)
		for _, r := range rs.users {
			all = append(all, r...)
		}
		for _, r := range all {
			if !filters.Valid(r.filter) {
				t.Errorf("invalid filter %q accepted", r.filter)
			}
			switch r.access {
			case accessRead, accessWrite, accessRead | accessWrite, accessDeny:
			default:
				t.Errorf("access %v for %q", r.access, r.filter)
			}
		}
	})
}

// FuzzParsePasswords: any password file gives a table of users, never a
// panic; each listed user has a parsed hash and a name.
func FuzzParsePasswords(f *testing.F) {
	addTestdata(f)
	f.Add([]byte("bob:$6$c2FsdA==$" + "AAAA\n:x:\nann::\n"))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		for user, h := range parsePasswords("fuzz.pw", data, log) {
			if user == "" || h == nil {
				t.Errorf("user %q with hash %v", user, h)
			}
		}
	})
}
