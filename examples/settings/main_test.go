package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRun runs the example and checks what it shows: the override expiring
// without a restart, the live edit applied, the broken edit rejected while
// the last good policy stays in force, and the change recorded as an event.
func TestRun(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	runErr := run(context.Background(), filepath.Join(t.TempDir(), "policy.json"))
	os.Stdout = stdout
	w.Close()
	out, _ := io.ReadAll(r)
	if runErr != nil {
		t.Fatal(runErr)
	}
	text := string(out)
	section := func(title string) string {
		_, after, ok := strings.Cut(text, "== "+title)
		if !ok {
			t.Fatalf("no section %q in:\n%s", title, text)
		}
		before, _, _ := strings.Cut(after, "\n== ")
		return before
	}
	row := func(sec, user string) string {
		for _, line := range strings.Split(sec, "\n") {
			if strings.HasPrefix(line, user+" ") {
				return strings.Join(strings.Fields(line)[1:], " ")
			}
		}
		t.Fatalf("no row for %s in %q", user, sec)
		return ""
	}
	expired, edited := section("400ms later"), section("after editing the file")
	if got := row(expired, "bob"); got != "SE SE SE - SE SEP" {
		t.Errorf("bob after the override expired: %q", got)
	}
	if got := row(edited, "bob"); got != "SE SE SE SE SE SEP" {
		t.Errorf("bob after the edit made support verbose: %q", got)
	}
	if got := row(edited, "carol"); got != "- - - - - SEP" {
		t.Errorf("carol (off) must still log errors: %q", got)
	}
	broken := section("a broken edit")
	if !strings.Contains(broken, `unknown preset "loud"`) || !strings.Contains(broken, "still go to: store+export") {
		t.Errorf("broken edit: %q", broken)
	}
	if !strings.Contains(text, "log-settings-changed") {
		t.Error("the settings change was not recorded as an audit event")
	}
}
