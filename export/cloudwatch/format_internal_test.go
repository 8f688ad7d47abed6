package cloudwatch

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestTruncateKeepsUTF8AndLimit(t *testing.T) {
	s := strings.Repeat("a€😀", 3000) // 1-, 3- and 4-byte characters
	for limit := 40; limit < 2000; limit += 7 {
		got := truncate(s, limit)
		if len(got) > limit || !utf8.ValidString(got) {
			t.Fatalf("limit %d: %d bytes, valid %v", limit, len(got), utf8.ValidString(got))
		}
		kept, marker, ok := strings.Cut(got, "…[truncated ")
		if !ok || !strings.HasPrefix(s, kept) || marker != strconv.Itoa(len(s)-len(kept))+" bytes]" {
			t.Fatalf("limit %d: %q", limit, got)
		}
	}
}

func TestSplitKeepsEverything(t *testing.T) {
	s := strings.Repeat("a€😀", 3000)
	id := "0190b7a4-0000-7000-8000-000000000000"
	for _, limit := range []int{100, 101, 102, 103, 997, 4096} {
		parts, changed := fit(s, limit, Split, id)
		if !changed {
			t.Fatal("not changed")
		}
		var joined strings.Builder
		for k, p := range parts {
			prefix := "[" + id + " " + strconv.Itoa(k+1) + "/" + strconv.Itoa(len(parts)) + "] "
			rest, ok := strings.CutPrefix(p, prefix)
			if !ok || len(p) > limit || !utf8.ValidString(p) {
				t.Fatalf("limit %d part %d: %d bytes %.50q", limit, k, len(p), p)
			}
			joined.WriteString(rest)
		}
		if joined.String() != s {
			t.Fatalf("limit %d: parts do not join back", limit)
		}
	}
	if parts, changed := fit("short", 100, Split, id); changed || len(parts) != 1 || parts[0] != "short" {
		t.Fatalf("%v %v", parts, changed)
	}
}
