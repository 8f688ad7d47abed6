package settings_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/store/memory"
)

func TestRedact(t *testing.T) {
	p, err := settings.Parse([]byte(`{"redact": {"keys": ["ssn"], "patterns": ["^x-"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	var last atomic.Pointer[audit.Redact]
	e, err := settings.New(settings.Config{}, settings.Options{OnChange: func(e *settings.Engine) {
		calls.Add(1)
		r := e.Redact()
		last.Store(&r)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Redact(); !slices.Equal(got.Keys, audit.DefaultRedactKeys) || got.Patterns != nil {
		t.Errorf("Redact without a block = %+v, want the defaults", got)
	}
	if err := e.Set(p); err != nil {
		t.Fatal(err)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("OnChange called %d times after New and Set, want 2", n)
	}
	r := *last.Load()
	if !slices.Contains(r.Keys, "ssn") || !slices.Contains(r.Keys, "password") {
		t.Errorf("Redact().Keys = %q, want the defaults and ssn", r.Keys)
	}
	if len(r.Patterns) != 1 || !r.Patterns[0].MatchString("x-token") || r.Patterns[0].MatchString("ax-") {
		t.Errorf("Redact().Patterns = %v, want ^x-", r.Patterns)
	}
	if got := e.Policy().Redact; !slices.Equal(got.Keys, []string{"ssn"}) {
		t.Errorf("Policy().Redact = %+v", got)
	}
	for bad, want := range map[string]string{
		`{"redact": {"patterns": ["ok", "(unclosed"]}}`: "redact.patterns[1]: error parsing regexp",
		`{"redact": {"keys": ["_"]}}`:                   "redact.keys[0]: empty key fragment",
		`{"redact": {"hmac_key": "k"}}`:                 "redact.hmac_key: unknown field",
		`{"redact": {"keys": "ssn"}}`:                   "redact.keys",
	} {
		if _, err := settings.Parse([]byte(bad)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%s) = %v, want an error with %q", bad, err, want)
		}
	}
	if err := e.Set(settings.Config{Redact: settings.RedactRules{Patterns: []string{"["}}}); err == nil {
		t.Error("Set with an invalid pattern succeeded")
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("OnChange called %d times after a refused Set, want 2", n)
	}
}

// The Logger follows the redaction block of the settings: each change
// reaches it through OnChange. Settings add to the default keys; the HMAC
// key stays in the Logger's options.
func ExampleEngine_Redact() {
	ctx := context.Background()
	store := memory.New(memory.Options{})
	logger, err := audit.New(audit.Options{Store: store})
	if err != nil {
		panic(err)
	}
	engine, err := settings.New(settings.Config{}, settings.Options{
		OnChange: func(e *settings.Engine) {
			if err := logger.SetRedact(e.Redact()); err != nil {
				panic(err)
			}
		},
	})
	if err != nil {
		panic(err)
	}
	defer engine.Close(ctx)

	logger.Log("before", audit.String("ssn", "123-45-6789"), audit.String("password", "hunter2"))
	p, err := settings.Parse([]byte(`{"redact": {"keys": ["ssn"]}}`)) // or settings.Watch a file
	if err != nil {
		panic(err)
	}
	if err := engine.Set(p); err != nil {
		panic(err)
	}
	logger.Log("after", audit.String("ssn", "123-45-6789"), audit.String("password", "hunter2"))
	if err := logger.Close(ctx); err != nil {
		panic(err)
	}
	page, _ := store.Read(ctx, audit.Query{})
	for _, e := range page.Events {
		fmt.Print(e.Message)
		for _, p := range e.Params {
			fmt.Printf(" %s=%s", p.Key, p.Value)
		}
		fmt.Println()
	}
	// Unordered output:
	// before password=[REDACTED] ssn=123-45-6789
	// after password=[REDACTED] ssn=[REDACTED]
}

// TestOnChangeLast sets policies from several goroutines: the last
// OnChange call reads the policy in force.
func TestOnChangeLast(t *testing.T) {
	var last atomic.Pointer[audit.Redact]
	e, err := settings.New(settings.Config{}, settings.Options{OnChange: func(e *settings.Engine) {
		r := e.Redact()
		last.Store(&r)
	}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 20 {
				if err := e.Set(settings.Config{Redact: settings.RedactRules{Keys: []string{fmt.Sprintf("k%d-%d", i, j)}}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if got, want := last.Load().Keys, e.Redact().Keys; !slices.Equal(got, want) {
		t.Errorf("last OnChange saw %q, the engine has %q", got, want)
	}
}
