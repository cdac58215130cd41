package config

import (
	"errors"
	"fmt"
	"strings"
)

// expand resolves the environment references in s: ${NAME} is NAME's value
// (an error when NAME is unset), ${NAME:-default} is NAME's value or default
// when NAME is unset or empty, and $${ is a literal ${. Any other $ is
// literal, so a password like pa$$word needs no escaping.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		s = s[i+2:]
		end := strings.IndexByte(s, '}')
		if end < 0 {
			return "", errors.New("unterminated ${ (write ${NAME} or ${NAME:-default}, or $${ for a literal ${)")
		}
		ref := s[:end]
		s = s[end+1:]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !isVarName(name) {
			return "", fmt.Errorf("${%s}: %q is not a variable name (letters, digits and _)", ref, name)
		}
		if strings.Contains(def, "${") {
			return "", fmt.Errorf("${%s}: a default cannot refer to another variable", ref)
		}
		val, set := lookup(name)
		switch {
		case hasDef && val == "":
			val = def
		case !set:
			return "", fmt.Errorf("environment variable %s is not set (write ${%s:-default} to give a default)", name, name)
		}
		b.WriteString(val)
	}
}

func isVarName(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for _, c := range []byte(s) {
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}
