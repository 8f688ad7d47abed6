package audit_test

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// TestREADME compiles the README's Go example inside a function that
// declares what it assumes (ctx, sessionID, doWork), and runs it.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```go\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	if len(blocks) == 0 {
		t.Fatal("README.md has no Go example")
	}
	for _, b := range blocks {
		src := `package main

import (
	"context"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/store/sqlite"
)

var (
	_ = time.Now
	_ = datagrok.QueryStart
	_ audit.Level
	_ = sqlite.Open
)

func doWork(context.Context) error { return context.DeadlineExceeded }

func run(ctx context.Context, sessionID string) error {
` + b[1] + `
	if len(page.Events) != 2 {
		panic("the README's object query found " + string(rune('0'+len(page.Events))) + " events, want 2")
	}
	return err
}

func main() {
	if err := run(context.Background(), "s-1"); err != nil {
		panic(err)
	}
}
`
		bin := buildProgram(t, "example.com/readme", map[string]string{"main.go": src})
		run := exec.Command(bin)
		run.Dir = t.TempDir()
		if out, err := run.CombinedOutput(); err != nil {
			t.Fatalf("README example: %v\n%s\nsource:\n%s", err, out, strings.TrimSpace(b[1]))
		}
	}
}
