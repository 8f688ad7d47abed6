package audit_test

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/auditkit/audit"
)

func TestTruncateKeepsUTF8AndLimit(t *testing.T) {
	s := strings.Repeat("a€😀", 3000) // 1-, 3- and 4-byte characters
	for limit := 32; limit < 2000; limit += 7 {
		got := audit.Truncate(s, limit)
		if len(got) > limit || !utf8.ValidString(got) {
			t.Fatalf("limit %d: %d bytes, valid %v", limit, len(got), utf8.ValidString(got))
		}
		kept, marker, ok := strings.Cut(got, "…[truncated ")
		if !ok || !strings.HasPrefix(s, kept) || marker != strconv.Itoa(len(s)-len(kept))+" bytes]" {
			t.Fatalf("limit %d: %q", limit, got)
		}
	}
	// The count can lose a digit between the bound and the real cut.
	if got := audit.Truncate(strings.Repeat("x", 1090), 100); len(got) > 100 {
		t.Errorf("%d bytes: %q", len(got), got)
	}
	for limit := 1; limit < 32; limit++ {
		if got := audit.Truncate(s, limit); len(got) > limit || !strings.HasPrefix(s, got) {
			t.Fatalf("tiny limit %d: %q", limit, got)
		}
	}
	if audit.Truncate("short", 100) != "short" || audit.Truncate(s, 0) != s || audit.Truncate(s, -1) != s {
		t.Error("strings within the limit, or without one, must be returned unchanged")
	}
}
