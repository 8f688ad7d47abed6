package main

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestQuickstartUnusedMenuItems runs the quickstart, which logs under the
// Standard settings preset, then the unused command it prints: the menu
// items nobody clicked are listed with no use, the clicked ones with theirs.
func TestQuickstartUnusedMenuItems(t *testing.T) {
	db := filepath.Join(t.TempDir(), "qs.db")
	run := exec.Command("go", "run", "./examples/quickstart", "-db", db)
	run.Dir = "../.."
	out, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("go run ./examples/quickstart: %v\n%s", err, out)
	}
	_, cmd, ok := strings.Cut(string(out), "go run ./cmd/auditctl ")
	if !ok {
		t.Fatalf("the quickstart prints no auditctl command:\n%s", out)
	}
	cmd, _, _ = strings.Cut(cmd, "\n")
	args := splitQuoted(cmd)
	r := auditctlAt(t, time.Now(), nil, args...)
	text := r.ok(t)
	for _, item := range []string{"Tools | Export to PDF", "View | Legacy report"} {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(item) + ` +0$`).MatchString(text) {
			t.Errorf("%q is not listed as unused:\n%s", item, text)
		}
	}
	for _, item := range []string{"File | Open", "Data | Query", "Help"} {
		if !regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(item) + ` +[1-9][0-9]*$`).MatchString(text) {
			t.Errorf("%q is not listed with its clicks:\n%s", item, text)
		}
	}
}

// splitQuoted splits a shell command line of words and 'quoted words'.
func splitQuoted(s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '\'' {
			end := strings.IndexByte(s[1:], '\'')
			if end < 0 {
				return append(out, s[1:])
			}
			out = append(out, s[1:1+end])
			s = s[2+end:]
			continue
		}
		word, rest, _ := strings.Cut(s, " ")
		out, s = append(out, word), rest
	}
	return out
}
