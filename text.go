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

// Truncate shortens s to at most max bytes, cutting at a UTF-8 boundary and
// appending a marker that says how many bytes were cut ("…[truncated N
// bytes]"), so truncation is visible. A max <= 0 means no limit. When max is
// too small to hold the marker (under 32 bytes), s is cut at a UTF-8 boundary
// without one.
func Truncate(s string, max int) string {
	if max <= 0 || len(s) <= max {
		return s
	}
	keep := max - len(truncMarker(len(s))) // the marker for the largest possible cut
	if max < 32 || keep < 0 {
		keep = max
		for keep > 0 && !utf8.RuneStart(s[keep]) {
			keep--
		}
		return s[:keep]
	}
	for keep > 0 && !utf8.RuneStart(s[keep]) {
		keep--
	}
	return s[:keep] + truncMarker(len(s)-keep)
}

func truncMarker(cut int) string { return "…[truncated " + strconv.Itoa(cut) + " bytes]" }
