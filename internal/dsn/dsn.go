// Package dsn hides the passwords of Postgres connection strings, URLs
// (postgres://user:password@host/db?password=...) and key=value DSNs
// (host=h password='p w'), well formed or not, wherever one is printed.
package dsn

import (
	"net/url"
	"strings"
)

// Masked is what a password is replaced with.
const Masked = "xxxxx"

// Mask returns s with every password in it replaced by [Masked]: the
// password of a URL's user info, and the value of each password= key (in a
// URL's query or a key=value DSN). A string without a password is returned
// as it is.
func Mask(s string) string {
	for _, sp := range spans(s) {
		s = s[:sp[0]] + Masked + s[sp[1]:]
	}
	return s
}

// Redact returns msg with the passwords of dsn replaced by [Masked],
// wherever they appear in it, as written and URL-unescaped, and dsn itself
// replaced by its masked form: for error messages that quote a DSN.
func Redact(msg, dsn string) string {
	if dsn == "" {
		return msg
	}
	msg = strings.ReplaceAll(msg, dsn, Mask(dsn))
	for _, sp := range spans(dsn) {
		p := dsn[sp[0]:sp[1]]
		secrets := []string{p}
		if u, err := url.PathUnescape(p); err == nil {
			secrets = append(secrets, u)
		}
		if u, err := url.QueryUnescape(p); err == nil {
			secrets = append(secrets, u)
		}
		for _, sec := range secrets {
			if sec != "" && sec != Masked {
				msg = strings.ReplaceAll(msg, sec, Masked)
			}
		}
	}
	return msg
}

// spans returns the byte ranges of the passwords in s, last first, so that
// replacing them in order keeps the earlier offsets valid.
func spans(s string) [][2]int {
	var out [][2]int
	if i := strings.Index(s, "://"); i > 0 && isScheme(s[:i]) {
		start := i + 3
		rest := s[start:]
		// The user info ends at the last @ of the authority; a password
		// with an unescaped / or ? moves the end to the first @.
		auth := rest
		if j := strings.IndexAny(rest, "/?#"); j >= 0 {
			auth = rest[:j]
		}
		at := strings.LastIndex(auth, "@")
		if at < 0 {
			at = strings.Index(rest, "@")
		}
		if at >= 0 {
			if c := strings.Index(rest[:at], ":"); c >= 0 && c+1 < at {
				out = append(out, [2]int{start + c + 1, start + at})
			}
		}
		// password= in the query, up to the next &.
		if q := strings.Index(rest, "?"); q >= 0 && (at < 0 || q > at) {
			out = append(out, keySpans(s, start+q+1, "&#")...)
		}
		return reverse(out)
	}
	return reverse(keySpans(s, 0, ""))
}

// keySpans returns the ranges of the values of the password keys in s from
// offset from, in order. With stops empty, s is a key=value DSN (values end
// at a space unless quoted); otherwise values end at one of stops.
func keySpans(s string, from int, stops string) [][2]int {
	var out [][2]int
	for i := from; i < len(s); {
		j := indexFold(s[i:], "password")
		if j < 0 {
			break
		}
		k := i + j + len("password")
		prev := byte(' ')
		if i+j > 0 {
			prev = s[i+j-1]
		}
		// Spaces may surround = in a key=value DSN.
		v := k
		for stops == "" && v < len(s) && s[v] == ' ' {
			v++
		}
		if (prev == ' ' || prev == '?' || prev == '&' || prev == '\t' || i+j == 0) && v < len(s) && s[v] == '=' {
			v++
			for stops == "" && v < len(s) && s[v] == ' ' {
				v++
			}
			end := valueEnd(s, v, stops)
			if end > v {
				out = append(out, [2]int{v, end})
			}
			i = end
			continue
		}
		i = k
	}
	return out
}

// valueEnd returns where the value starting at v ends.
func valueEnd(s string, v int, stops string) int {
	if stops != "" {
		if e := strings.IndexAny(s[v:], stops); e >= 0 {
			return v + e
		}
		return len(s)
	}
	if v < len(s) && s[v] == '\'' {
		for e := v + 1; e < len(s); e++ {
			switch s[e] {
			case '\\':
				e++
			case '\'':
				return e + 1
			}
		}
		return len(s) // unterminated: the rest is the password
	}
	if e := strings.IndexAny(s[v:], " \t\n"); e >= 0 {
		return v + e
	}
	return len(s)
}

// indexFold is strings.Index, ASCII letters of s compared without case;
// sub is lower case.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		ok := true
		for j := 0; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				ok = false
				break
			}
		}
		if ok {
			return i
		}
	}
	return -1
}

// isScheme reports whether s is a URL scheme: a letter, then letters,
// digits, + - or . (RFC 3986).
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		switch {
		case 'a' <= c && c <= 'z':
		case i > 0 && ('0' <= s[i] && s[i] <= '9' || s[i] == '+' || s[i] == '-' || s[i] == '.'):
		default:
			return false
		}
	}
	return true
}

func reverse(sp [][2]int) [][2]int {
	for i, j := 0, len(sp)-1; i < j; i, j = i+1, j-1 {
		sp[i], sp[j] = sp[j], sp[i]
	}
	return sp
}
