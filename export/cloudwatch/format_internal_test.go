package cloudwatch

import (
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitKeepsEverything(t *testing.T) {
	s := strings.Repeat("a€😀", 3000)
	id := "0190b7a4-0000-7000-8000-000000000000"
	for _, limit := range []int{100, 101, 102, 103, 997, 4096} {
		parts, changed := fit(s, limit, OversizeSplit, id)
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
	if parts, changed := fit("short", 100, OversizeSplit, id); changed || len(parts) != 1 || parts[0] != "short" {
		t.Fatalf("%v %v", parts, changed)
	}
}
