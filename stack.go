package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

var (
	reGoroutine = regexp.MustCompile(`(?m)^goroutine \d+.*$`)
	reCreatedBy = regexp.MustCompile(` in goroutine \d+`)
	reOffset    = regexp.MustCompile(` \+0x[0-9a-fA-F]+`)
	reArgs      = regexp.MustCompile(`\((?:0x[0-9a-fA-F]+|\.\.\.|\{[^)]*\}|, )*\)$`)
	reHex       = regexp.MustCompile(`0x[0-9a-fA-F]+`)
)

// Fingerprint returns the grouping hash of a stack trace: 32 hex digits of a
// SHA-256 over the trace's normalized frames. Normalizing drops what differs
// between two occurrences of the same failure on the same code path:
// "goroutine N [state]:" headers, "in goroutine N", program-counter offsets
// (+0x1f), argument values and any other hexadecimal address, blank lines
// and surrounding space. Function names, files and line numbers are kept. It
// works on traces in the Go panic format, on the format the Logger captures,
// and on other languages' traces (which are hashed with the same rules).
// An empty or blank trace has an empty fingerprint.
func Fingerprint(stack string) string {
	norm := normalizeStack(stack)
	if norm == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(norm))
	return hex.EncodeToString(sum[:16])
}

func normalizeStack(stack string) string {
	var b strings.Builder
	for _, line := range strings.Split(stack, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || reGoroutine.MatchString(line) {
			continue
		}
		line = reCreatedBy.ReplaceAllString(line, "")
		line = reOffset.ReplaceAllString(line, "")
		line = reArgs.ReplaceAllString(line, "()")
		line = reHex.ReplaceAllString(line, "0x?")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}
