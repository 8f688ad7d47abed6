package audit

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text returns s as valid UTF-8 text without NUL bytes, which is what Postgres
// text columns, JSON and most log services accept, and reports whether s had
// to change. The rule, used by every store and sink of this module:
//   - each byte that is not part of valid UTF-8 becomes U+FFFD (the
//     replacement character);
//   - each NUL byte becomes U+2400 (the symbol for NUL, "␀").
//
// The rule alone loses information, so a store that must be lossless keeps the
// original bytes too whenever changed is true (the SQL stores keep them in a
// bytea/blob column next to the text) and returns the original on read.
func Text(s string) (text string, changed bool) {
	if utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 {
		return s, false
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteRune(utf8.RuneError)
		case r == 0:
			b.WriteRune('\u2400')
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String(), true
}

// truncate shortens s to at most max bytes, cutting at a UTF-8 boundary and
// appending a marker that says how many bytes were cut, so truncation is
// visible. A max <= 0 means no limit.
func truncate(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	cut := len(s) - max
	marker := "…[truncated " + strconv.Itoa(cut) + " bytes]"
	keep := max - len(marker)
	if keep < 0 {
		keep = 0
	}
	for keep > 0 && keep < len(s) && !utf8.RuneStart(s[keep]) {
		keep--
	}
	cut = len(s) - keep
	return s[:keep] + "…[truncated " + strconv.Itoa(cut) + " bytes]"
}
