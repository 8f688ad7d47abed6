package audit_test

import (
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// readmeBlocks says, for each Go block of README.md (found by a line it
// holds), what the block assumes (the parameters of the function it becomes)
// and what follows it in that function. Blocks marked run are run; the
// others need a Postgres server or an HTTP server and are built only.
var readmeBlocks = []struct {
	holds, params, after string
	run                  bool
}{
	{
		holds:  `sqlite.Open(ctx, "audit.db"`,
		params: "ctx context.Context, sessionID string",
		after: `if len(page.Events) != 2 {
		panic(fmt.Sprintf("the README's object query found %d events, want 2", len(page.Events)))
	}
	return err`,
		run: true,
	},
	{
		holds:  "chain.ParseKey(pemBytes)",
		params: "ctx context.Context, pemBytes []byte, dsn string",
		after:  "_ = store\n\treturn nil",
	},
	{
		holds:  "dashboard.New(store,",
		params: "ctx context.Context, store *postgres.Store, mux *http.ServeMux",
		after:  "return err",
	},
}

// TestREADME builds every Go block of README.md, each in a function that
// declares what it assumes, in one program, and runs those that need no
// server. Every fenced block must say its language, so that none holding
// Go escapes the test.
func TestREADME(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var funcs, calls strings.Builder
	used := make([]bool, len(readmeBlocks))
	fences := regexp.MustCompile("(?sm)^```([a-z]*)\n(.*?)^```").FindAllStringSubmatch(string(readme), -1)
	for _, f := range fences {
		lang, code := f[1], f[2]
		if lang == "" {
			t.Errorf("README.md has a block that does not say its language (```go, ```sh, ```text):\n%s", code)
		}
		if lang != "go" {
			continue
		}
		n := -1
		for i, b := range readmeBlocks {
			if strings.Contains(code, b.holds) {
				n = i
			}
		}
		if n < 0 {
			t.Errorf("README.md's Go block is not in readmeBlocks (add what it assumes):\n%s", code)
			continue
		}
		if used[n] {
			t.Errorf("two Go blocks of README.md hold %q", readmeBlocks[n].holds)
		}
		used[n] = true
		b := readmeBlocks[n]
		fmt.Fprintf(&funcs, "\nfunc block%d(%s) error {\n%s\n\t%s\n}\n", n, b.params, code, b.after)
		if b.run {
			fmt.Fprintf(&calls, "\tif err := block%d(context.Background(), \"s-1\"); err != nil {\n\t\tpanic(err)\n\t}\n", n)
		}
	}
	for i, u := range used {
		if !u {
			t.Errorf("no Go block of README.md holds %q", readmeBlocks[i].holds)
		}
	}
	if t.Failed() {
		return
	}
	src := `package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/chain"
	"github.com/auditkit/audit/dashboard"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/store/postgres"
	"github.com/auditkit/audit/store/sqlite"
)

var (
	_ = fmt.Sprint
	_ = http.NewServeMux
	_ = time.Now
	_ audit.Level
	_ = chain.ParseKey
	_ = dashboard.New
	_ = datagrok.QueryStart
	_ = postgres.Open
	_ = sqlite.Open
)

func doWork(context.Context) error { return context.DeadlineExceeded }
` + funcs.String() + `
func main() {
` + calls.String() + `}
`
	bin := buildProgram(t, "example.com/readme", map[string]string{"main.go": src})
	run := exec.Command(bin)
	run.Dir = t.TempDir()
	if out, err := run.CombinedOutput(); err != nil {
		t.Fatalf("README examples: %v\n%s\nprogram:\n%s", err, out, src)
	}
}
