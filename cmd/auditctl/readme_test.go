package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestReadmeCommands runs the commands of the README's "Ask the log"
// section on a file written by the quickstart, as the README says to.
func TestReadmeCommands(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := regexp.MustCompile("`go run ./cmd/auditctl ([^`]+)`").FindAllStringSubmatch(string(readme), -1)
	if len(cmds) < 10 {
		t.Fatalf("the README has %d auditctl commands, want one per question", len(cmds))
	}
	db := filepath.Join(t.TempDir(), "qs.db")
	run := exec.Command("go", "run", "./examples/quickstart", "-db", db)
	run.Dir = "../.."
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("go run ./examples/quickstart: %v\n%s", err, out)
	}
	env := map[string]string{envDB: db}
	for _, m := range cmds {
		t.Run(m[1], func(t *testing.T) {
			// The quickstart's events are in the minutes before now.
			r := auditctlAt(t, time.Now(), env, strings.Fields(m[1])...)
			if out := r.ok(t); strings.Count(out, "\n") < 5 {
				t.Errorf("little output:\n%s", out)
			}
		})
	}
}
