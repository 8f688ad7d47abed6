package audit_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/jsonl"
	"github.com/auditkit/audit/store/memory"
)

// lockedBuffer is a bytes.Buffer safe for the sink goroutine and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// redactedRun logs one event with the given params through a Logger with a
// memory store, a jsonl sink and a JSON printer, and returns the stored
// event and the sink's and printer's output.
func redactedRun(t *testing.T, r audit.Redact, args ...any) (audit.Event, string, string) {
	t.Helper()
	st := memory.New(memory.Options{})
	var sinkOut, printOut lockedBuffer
	l, err := audit.New(audit.Options{
		Store:   st,
		Sinks:   []audit.Sink{jsonl.New(&sinkOut, jsonl.Options{})},
		Printer: slog.New(slog.NewJSONHandler(&printOut, nil)),
		Redact:  r,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Log("login", args...); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	page, err := st.Read(context.Background(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != 1 {
		t.Fatalf("store holds %d events, want 1", len(page.Events))
	}
	return page.Events[0], sinkOut.String(), printOut.String()
}

func paramOf(e audit.Event, key string) (audit.Value, bool) {
	for _, p := range e.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return audit.Value{}, false
}

// The secret values below all contain "s3cr3t", which must reach no
// destination.
const leak = "s3cr3t"

func TestRedactByKeyPatternAndWrapper(t *testing.T) {
	type card struct {
		Holder string `json:"holder"`
		APIKey string `json:"api_key"`
	}
	e, sink, printed := redactedRun(t, audit.Redact{Patterns: []*regexp.Regexp{regexp.MustCompile(`^card_`)}},
		audit.String("password", "pw-s3cr3t"),
		audit.String("X-Api-Key", "k-s3cr3t"),
		audit.String("Set-Cookie", "sid=s3cr3t"),
		audit.String("db_PASSWD", "s3cr3t"),
		audit.Int("token_count", 42),
		audit.String("card_number", "4111-s3cr3t"),
		audit.SecretString("note", "free text s3cr3t"),
		map[string]any{
			"ssn":    audit.Secret("s3cr3t-ssn"),
			"user":   "alice",
			"nested": map[string]any{"profile": map[string]any{"Access-Token": "tok-s3cr3t", "name": "bob"}, "list": []any{map[string]any{"privateKey": "pk-s3cr3t"}}},
			"card":   card{Holder: "carol", APIKey: "ak-s3cr3t"},
		},
	)
	for _, out := range []string{sink, printed} {
		if strings.Contains(out, leak) {
			t.Errorf("output holds a secret:\n%s", out)
		}
		if !strings.Contains(out, audit.RedactedMarker) {
			t.Errorf("output has no %s marker:\n%s", audit.RedactedMarker, out)
		}
	}
	for _, key := range []string{"password", "X-Api-Key", "Set-Cookie", "db_PASSWD", "token_count", "card_number", "note", "ssn"} {
		v, ok := paramOf(e, key)
		if !ok || v.Kind() != audit.KindString || v.String() != audit.RedactedMarker {
			t.Errorf("%s = %v (%v), want %s", key, v, v.Kind(), audit.RedactedMarker)
		}
	}
	if v, _ := paramOf(e, "user"); v.String() != "alice" {
		t.Errorf("user = %v, want alice (not redacted)", v)
	}
	var nested struct {
		Profile map[string]string   `json:"profile"`
		List    []map[string]string `json:"list"`
	}
	v, _ := paramOf(e, "nested")
	if err := json.Unmarshal(v.JSON(), &nested); err != nil {
		t.Fatalf("nested = %v: %v", v, err)
	}
	if nested.Profile["Access-Token"] != audit.RedactedMarker || nested.Profile["name"] != "bob" ||
		len(nested.List) != 1 || nested.List[0]["privateKey"] != audit.RedactedMarker {
		t.Errorf("nested = %s", v)
	}
	var c card
	v, _ = paramOf(e, "card")
	if err := json.Unmarshal(v.JSON(), &c); err != nil || c.Holder != "carol" || c.APIKey != audit.RedactedMarker {
		t.Errorf("card = %s (%v)", v, err)
	}
	for _, p := range e.Params {
		if strings.Contains(p.Value.String(), leak) {
			t.Errorf("stored %s = %s", p.Key, p.Value)
		}
	}
}

func TestRedactHMACCorrelates(t *testing.T) {
	key := []byte("k3y")
	e, sink, printed := redactedRun(t, audit.Redact{HMACKey: key},
		audit.String("password", "s3cr3t"),
		audit.String("api_token", "s3cr3t"),
		audit.Int("port", 5432),
		audit.P("header", map[string]any{"Authorization": "s3cr3t", "retries": 3, "cookie": 7}),
	)
	want := audit.RedactHMAC(key, "s3cr3t")
	if !strings.HasPrefix(want, audit.HMACPrefix) || len(want) != len(audit.HMACPrefix)+64 {
		t.Fatalf("RedactHMAC = %q", want)
	}
	if other := audit.RedactHMAC([]byte("other"), "s3cr3t"); other == want {
		t.Errorf("the HMAC does not depend on the key")
	}
	for _, key := range []string{"password", "api_token"} {
		if v, _ := paramOf(e, key); v.String() != want {
			t.Errorf("%s = %v, want %s", key, v, want)
		}
	}
	if v, _ := paramOf(e, "port"); v.Int64() != 5432 {
		t.Errorf("port = %v", v)
	}
	var h map[string]any
	v, _ := paramOf(e, "header")
	if err := json.Unmarshal(v.JSON(), &h); err != nil {
		t.Fatal(err)
	}
	if h["Authorization"] != want || h["cookie"] != audit.RedactHMAC(key, "7") || h["retries"] != 3.0 {
		t.Errorf("header = %s", v)
	}
	for _, out := range []string{sink, printed} {
		if strings.Contains(out, leak) || strings.Count(out, want) < 3 {
			t.Errorf("output:\n%s\nwant %s three times and no secret", out, want)
		}
	}
}

func TestRedactOffKeepsSecrets(t *testing.T) {
	e, _, _ := redactedRun(t, audit.Redact{Off: true},
		audit.String("password", "given"),
		map[string]any{"pin": audit.Secret(1234)},
	)
	if v, _ := paramOf(e, "password"); v.String() != "given" {
		t.Errorf("password = %v, want it as given with Off", v)
	}
	if v, _ := paramOf(e, "pin"); v.String() != audit.RedactedMarker {
		t.Errorf("pin = %v, want %s: Secret values are redacted even with Off", v, audit.RedactedMarker)
	}
}

func TestRedactOwnKeysReplaceDefaults(t *testing.T) {
	e, _, _ := redactedRun(t, audit.Redact{Keys: []string{"SSN"}},
		audit.String("password", "given"),
		audit.String("customer_ssn", "123"),
	)
	if v, _ := paramOf(e, "password"); v.String() != "given" {
		t.Errorf("password = %v, want it as given: Keys replace the defaults", v)
	}
	if v, _ := paramOf(e, "customer_ssn"); v.String() != audit.RedactedMarker {
		t.Errorf("customer_ssn = %v", v)
	}
}

// Hostile input: long keys, NUL bytes, invalid UTF-8 and escaped member
// names are redacted or kept, never a panic.
func TestRedactHostileInput(t *testing.T) {
	long := strings.Repeat("x", 300) + "Password"
	e, _, _ := redactedRun(t, audit.Redact{},
		audit.String(long, "s3cr3t"),
		audit.String("pass\x00word", "kept\xff"),
		audit.P("esc", json.RawMessage(`{"pass\u0077ord":"s3cr3t","n":1}`)),
		audit.P("bad", json.RawMessage(`{"token":`)),
	)
	if v, _ := paramOf(e, long); v.String() != audit.RedactedMarker {
		t.Errorf("long key = %v", v)
	}
	if v, _ := paramOf(e, "pass\x00word"); v.String() != "kept\xff" {
		t.Errorf("NUL key = %q, want it kept (no fragment matches)", v.String())
	}
	if v, _ := paramOf(e, "esc"); strings.Contains(v.String(), leak) {
		t.Errorf("escaped member name: %s", v)
	}
	if v, _ := paramOf(e, "bad"); v.String() != `{"token":` {
		t.Errorf("invalid JSON = %q, want it kept as a string", v.String())
	}
}

// A JSON value too deep to walk that may hold a secret is redacted whole.
func TestRedactTooDeepJSON(t *testing.T) {
	var deep any = map[string]any{"token": "s3cr3t"}
	for range 20000 {
		deep = []any{deep}
	}
	shallow := `[[{"name":"x"}]]`
	e, _, _ := redactedRun(t, audit.Redact{},
		audit.P("deep", deep), audit.P("shallow", json.RawMessage(shallow)))
	if v, _ := paramOf(e, "deep"); v.String() != audit.RedactedMarker {
		t.Errorf("deep = %.80s…, want %s", v.String(), audit.RedactedMarker)
	}
	if v, _ := paramOf(e, "shallow"); v.Kind() != audit.KindJSON || v.String() != shallow {
		t.Errorf("shallow = %s (%v), want it unchanged", v, v.Kind())
	}
}

// The Logger keeps its own copy of the HMAC key: the caller may clear its
// slice after New.
func TestRedactKeyCopied(t *testing.T) {
	key := []byte("k3y")
	st := memory.New(memory.Options{})
	l, err := audit.New(audit.Options{Store: st, Redact: audit.Redact{HMACKey: key}})
	if err != nil {
		t.Fatal(err)
	}
	clear(key)
	if err := l.Log("login", audit.String("password", "s3cr3t")); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	page, err := st.Read(context.Background(), audit.Query{})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("%+v, %v", page, err)
	}
	if v, _ := paramOf(page.Events[0], "password"); v.String() != audit.RedactHMAC([]byte("k3y"), "s3cr3t") {
		t.Errorf("password = %v, want the HMAC under the key given to New", v)
	}
}

// TestRedactNilPattern: a nil pattern is refused by New, as by SetRedact,
// instead of failing at the first event.
func TestRedactNilPattern(t *testing.T) {
	_, err := audit.New(audit.Options{Store: memory.New(memory.Options{}),
		Redact: audit.Redact{Patterns: []*regexp.Regexp{regexp.MustCompile("x"), nil}}})
	if !errors.Is(err, audit.ErrInvalidOptions) {
		t.Fatalf("New with a nil pattern: %v, want ErrInvalidOptions", err)
	}
}
