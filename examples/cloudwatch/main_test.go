package main

import (
	"io"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestRunLocal runs the example against the local server, as -local does,
// and checks that every event reached its stream, in each format.
func TestRunLocal(t *testing.T) {
	for _, format := range []string{"json", "text"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout := os.Stdout
		os.Stdout = w
		runErr := run(true, "/auditkit/example", format)
		os.Stdout = stdout
		w.Close()
		out, _ := io.ReadAll(r)
		if runErr != nil {
			t.Fatal(runErr)
		}
		text := string(out)
		if !strings.Contains(text, "exported 5 events") || !strings.Contains(text, "0 too old, 0 too new, 0 poison") {
			t.Errorf("%s: summary missing or losses reported:\n%s", format, text)
		}
		for _, stream := range []string{"app_audit", "app_errors", "app_log", "app_usage"} {
			if !strings.Contains(text, "/auditkit/example/"+stream+" ") {
				t.Errorf("%s: nothing received on stream %s:\n%s", format, stream, text)
			}
		}
	}
}
