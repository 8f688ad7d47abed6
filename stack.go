package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strings"
)

var (
	reGoroutine = regexp.MustCompile(`^goroutine \d+`)
	reCreatedBy = regexp.MustCompile(` in goroutine \d+$`)
	reFileLine  = regexp.MustCompile(`\.[A-Za-z0-9]+:\d+(:\d+)?( \+0x[0-9a-fA-F]+)?$`)
	reClosure   = regexp.MustCompile(`\.(func|gowrap|deferwrap)\d+|-range\d+|\.\d+\b`)
	reLineNo    = regexp.MustCompile(`:\d+(:\d+)?\b|\bline \d+`)
	reHex       = regexp.MustCompile(`0x[0-9a-fA-F]+`)
)

// Fingerprint returns the grouping hash of a stack trace: 32 hex digits of a
// SHA-256 over the package-qualified names of the functions on the stack,
// in order. File paths, line numbers, program-counter offsets, argument
// values, addresses, goroutine ids and the numbers the compiler gives
// closures (main.run.func1, .gowrap2, -range1) are left out, so the same
// failure in the same function groups together across builds, machines,
// module locations and edits that move code. Lines of other languages'
// traces are hashed without their line and column numbers and addresses,
// and a "File ..., line N" or "(file:line)" location is dropped where it
// follows the function's name. An empty or blank trace has an empty
// fingerprint.
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
	for _, raw := range strings.Split(stack, "\n") {
		line := strings.TrimSpace(raw)
		switch {
		case line == "",
			strings.HasPrefix(raw, "\t"), // a Go trace's file:line
			reGoroutine.MatchString(line),
			strings.HasPrefix(line, "panic: "), strings.HasPrefix(line, "fatal error: "),
			line == "[recovered]", strings.HasPrefix(line, "[signal "):
			continue
		case reFileLine.MatchString(line) && !strings.Contains(line, " "):
			continue // a bare file:line
		}
		line = reCreatedBy.ReplaceAllString(line, "")
		if strings.HasSuffix(line, ")") {
			if i := strings.LastIndexByte(line, '('); i > 0 {
				line = strings.TrimSpace(line[:i]) // arguments, or a (file:line) location
			}
		}
		line = reClosure.ReplaceAllStringFunc(line, closureKind)
		line = reLineNo.ReplaceAllString(line, "")
		line = reHex.ReplaceAllString(line, "")
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

// closureKind maps a compiler-numbered closure suffix to its kind alone.
func closureKind(s string) string {
	switch {
	case strings.HasPrefix(s, ".func"):
		return ".func"
	case strings.HasPrefix(s, ".gowrap"):
		return ".gowrap"
	case strings.HasPrefix(s, ".deferwrap"):
		return ".deferwrap"
	case strings.HasPrefix(s, "-range"):
		return "-range"
	}
	return "" // the .1 of a closure nested in a closure
}
