package file

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"

	"github.com/ternmq/broker"
	"github.com/ternmq/broker/auth"
	"github.com/ternmq/broker/auth/passwd"
	"github.com/ternmq/broker/packets"
)

// Passwords is a broker.Authenticator over a Mosquitto password file. It
// is safe for concurrent use, Reload included.
type Passwords struct {
	path  string
	opts  options
	users atomic.Pointer[map[string]*passwd.Hash]
}

var _ broker.Authenticator = (*Passwords)(nil)

// errBadPassword refuses a known user with a wrong or missing password.
var errBadPassword = fmt.Errorf("file: wrong password: %w", packets.BadUserNameOrPassword)

// LoadPasswords reads the password file at path. It fails only when the
// file cannot be read; lines it cannot use are logged and skipped.
func LoadPasswords(path string, opts ...Option) (*Passwords, error) {
	p := &Passwords{path: path, opts: buildOptions(opts)}
	if err := p.Reload(); err != nil {
		return nil, err
	}
	return p, nil
}

// Reload reads the file again and, if it can be read, replaces the users.
func (p *Passwords) Reload() error {
	data, err := os.ReadFile(p.path)
	if err != nil {
		return fmt.Errorf("password file: %w", err)
	}
	users := parsePasswords(p.path, data, p.opts.log)
	p.users.Store(&users)
	return nil
}

// Len returns the number of users with a usable hash.
func (p *Passwords) Len() int { return len(*p.users.Load()) }

// Authenticate checks the client's password against the file. A client
// without a user name, or whose user name is not in the file, gets
// auth.ErrUnknownUser (WithAnonymous: a client without a user name is
// accepted); a wrong or missing password is Bad user name or password.
func (p *Passwords) Authenticate(_ context.Context, c *broker.Credentials) error {
	if c.Username == "" {
		if p.opts.anonymous && c.Password == nil {
			return nil
		}
		return auth.ErrUnknownUser
	}
	h, ok := (*p.users.Load())[c.Username]
	if !ok {
		return auth.ErrUnknownUser
	}
	if c.Password == nil || !h.Verify(c.Password) {
		return errBadPassword
	}
	return nil
}

// parsePasswords reads "username:hash" lines as Mosquitto 2.0's
// pwfile__parse and unpwd__decode_passwords do: '#' lines and lines
// without ':' are skipped, user name and hash are trimmed, the hash ends
// at the next ':', and an entry without a usable hash is logged and left
// out. A later line for the same user replaces an earlier one.
func parsePasswords(name string, data []byte, log *slog.Logger) map[string]*passwd.Hash {
	users := make(map[string]*passwd.Hash)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !strings.Contains(line, ":") {
			continue
		}
		user, rest, _ := strings.Cut(strings.TrimLeft(line, ":"), ":")
		user = strings.TrimSpace(user)
		hash, _, _ := strings.Cut(strings.TrimLeft(rest, ":"), ":")
		hash = strings.TrimSpace(hash)
		switch {
		case user == "":
			continue
		case hash == "":
			log.Warn("password file: no password hash, user left out", "file", name, "line", n, "username", user)
			continue
		}
		h, err := passwd.Parse(hash)
		if err != nil {
			log.Warn("password file: unusable password hash, user left out", "file", name, "line", n, "username", user, "err", err)
			continue
		}
		if _, dup := users[user]; dup {
			log.Warn("password file: user listed twice, the later line wins", "file", name, "line", n, "username", user)
		}
		users[user] = h
	}
	return users
}
