package jsonl_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/export/jsonl"
	"github.com/auditkit/audit/store/storetest"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// normalized is e as ReadEvents returns it: nil Params when there are none.
func normalized(events []audit.Event) []audit.Event {
	out := make([]audit.Event, len(events))
	for i, e := range events {
		if len(e.Params) == 0 {
			e.Params = nil
		}
		out[i] = e
	}
	return out
}

func roundTrip(t *testing.T, events []audit.Event) (lines []byte, got []audit.Event) {
	t.Helper()
	var buf bytes.Buffer
	if err := jsonl.New(&buf, jsonl.Options{}).Send(t.Context(), events); err != nil {
		t.Fatalf("Send: %v", err)
	}
	lines = bytes.Clone(buf.Bytes())
	got, err := jsonl.ReadEvents(&buf)
	if err != nil {
		t.Fatalf("ReadEvents: %v", err)
	}
	return lines, got
}

func TestRoundTrip(t *testing.T) {
	events := storetest.Events()
	lines, got := roundTrip(t, events)
	if diff := cmp.Diff(normalized(events), got, cmpopts.EquateComparable(audit.Value{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	// Each line is a valid JSON object in valid UTF-8 without NUL bytes.
	n := 0
	for l := range bytes.Lines(lines) {
		n++
		if !utf8.Valid(l) || bytes.IndexByte(l, 0) >= 0 || !json.Valid(l) {
			t.Errorf("line %d is not NUL-free UTF-8 JSON: %.200q", n, l)
		}
	}
	if n != len(events) {
		t.Errorf("%d lines for %d events", n, len(events))
	}
}

func TestRoundTripKeyCollisions(t *testing.T) {
	e := storetest.NewEvent("collide")
	// Keys whose text forms collide, a duplicate key (the Event contract
	// forbids it, but nothing is lost), and a key that looks like a suffix.
	e.Params = []audit.Param{
		audit.P("k\x00", 1),
		audit.P("k\u2400", 2),
		audit.P("k\u2400#2", 3),
		audit.P("k\x00", 4),
		audit.P("a/b~c", audit.Ref("\xff", "id\x00")),
		audit.P("a~1b", "v\x00"),
	}
	lines, got := roundTrip(t, []audit.Event{e})
	if diff := cmp.Diff([]audit.Event{e}, got, cmpopts.EquateComparable(audit.Value{})); diff != "" {
		t.Errorf("round trip (-want +got):\n%s\nline: %s", diff, lines)
	}
}

func TestFormat(t *testing.T) {
	e := storetest.NewEvent("query-start",
		audit.P("n", 42),
		audit.P("s", "<a & b>"),
		audit.P("u", uint64(7)),
		audit.P("bad", "x\xffy"),
	)
	e.Message = "line1\nline2\u2028"
	lines, _ := roundTrip(t, []audit.Event{e})
	var m map[string]any
	if err := json.Unmarshal(lines, &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id":      e.ID.String(),
		"time":    e.Time.Format("2006-01-02T15:04:05.000000Z07:00"),
		"level":   "audit",
		"type":    "query-start",
		"message": "line1\nline2\u2028",
		"params":  map[string]any{"n": 42.0, "s": "<a & b>", "u": 7.0, "bad": "x\ufffdy"},
		"kinds":   map[string]any{"u": "uint64"},
		"raw":     map[string]any{"/params/bad": "eP95"},
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("line (-want +got):\n%s", diff)
	}
	if !bytes.Contains(lines, []byte(`"<a & b>"`)) || bytes.Contains(lines, []byte("\u2028")) {
		t.Errorf("line escapes HTML or keeps U+2028 raw: %s", lines)
	}
	if !bytes.HasSuffix(lines, []byte("}\n")) || bytes.Count(lines, []byte("\n")) != 1 {
		t.Errorf("not one line: %q", lines)
	}
}

func TestDuration(t *testing.T) {
	e := storetest.NewEvent("timed")
	e.Duration = 1500123 // 1.500123 ms
	lines, got := roundTrip(t, []audit.Event{e})
	if !bytes.Contains(lines, []byte(`"duration_ms":1.500123`)) {
		t.Errorf("durations not written as expected: %s", lines)
	}
	if len(got) != 1 || got[0].Duration != e.Duration {
		t.Errorf("read back %v", got)
	}
	// Lines written by hand with only duration_ms.
	in := fmt.Sprintf(`{"id":%q,"time":"2024-05-01T12:00:00Z","level":"info","type":"","message":"","duration_ms":2.5}`, e.ID)
	got, err := jsonl.ReadEvents(strings.NewReader(in))
	if err != nil || len(got) != 1 || got[0].Duration != 2500000 {
		t.Errorf("ReadEvents(duration_ms only) = %v, %v", got, err)
	}
}

func TestReadEventsErrors(t *testing.T) {
	valid := `{"id":"0190a5e4-7b1c-7c2e-9f10-6d9a3b2c1e00","time":"2024-05-01T12:00:00Z","level":"info","type":"","message":""}`
	for name, in := range map[string]string{
		"not json":       "hello\n",
		"bad id":         `{"id":"x","time":"2024-05-01T12:00:00Z","level":"info"}`,
		"bad time":       strings.Replace(valid, "2024-05-01T12:00:00Z", "yesterday", 1),
		"bad level":      strings.Replace(valid, `"info"`, `"loud"`, 1),
		"bad kind":       strings.Replace(valid, `}`, `,"params":{"a":1},"kinds":{"a":"complex"}}`, 1),
		"kind mismatch":  strings.Replace(valid, `}`, `,"params":{"a":"x"},"kinds":{"a":"int64"}}`, 1),
		"stray raw":      strings.Replace(valid, `}`, `,"raw":{"/nope":"AA=="}}`, 1),
		"stray kind":     strings.Replace(valid, `}`, `,"kinds":{"nope":"int64"}}`, 1),
		"bad base64":     strings.Replace(valid, `}`, `,"raw":{"/message":"%%%"}}`, 1),
		"params not obj": strings.Replace(valid, `}`, `,"params":[1]}`, 1),
	} {
		_, err := jsonl.ReadEvents(strings.NewReader(valid + "\n\n" + in))
		if err == nil || !strings.Contains(err.Error(), "jsonl: line 3:") {
			t.Errorf("%s: ReadEvents = %v, want an error on line 3", name, err)
		}
	}
	got, err := jsonl.ReadEvents(strings.NewReader("\n" + valid + "\n\n" + valid)) // no final newline
	if err != nil || len(got) != 2 {
		t.Errorf("ReadEvents(two valid lines) = %d events, %v", len(got), err)
	}
}

func TestInvalidLevel(t *testing.T) {
	var buf bytes.Buffer
	good, bad := storetest.NewEvent("good"), storetest.NewEvent("bad")
	bad.Level = 0
	err := jsonl.New(&buf, jsonl.Options{}).Send(t.Context(), []audit.Event{good, bad})
	if !errors.Is(err, audit.ErrInvalidEvent) || !audit.IsPermanent(err) {
		t.Errorf("Send = %v, want a permanent error wrapping audit.ErrInvalidEvent", err)
	}
	if buf.Len() != 0 {
		t.Errorf("wrote %q for a refused batch", buf.String())
	}
}

func TestConcurrentSend(t *testing.T) {
	const senders, batches = 8, 20
	var buf bytes.Buffer
	s := jsonl.New(&buf, jsonl.Options{})
	want := make(map[string]bool)
	all := make([][]audit.Event, senders)
	for i := range all {
		for j := range batches {
			e := storetest.NewEvent("concurrent", audit.P("sender", i), audit.P("batch", j), audit.P("big", strings.Repeat("x", 1000)))
			all[i] = append(all[i], e)
			want[e.ID.String()] = true
		}
	}
	var wg sync.WaitGroup
	for i := range senders {
		wg.Go(func() {
			for j := 0; j < batches; j += 2 {
				if err := s.Send(t.Context(), all[i][j:j+2]); err != nil {
					t.Errorf("Send: %v", err)
				}
			}
		})
	}
	wg.Wait()
	got, err := jsonl.ReadEvents(&buf)
	if err != nil {
		t.Fatalf("ReadEvents: %v (lines interleaved?)", err)
	}
	if len(got) != len(want) {
		t.Errorf("read %d events, want %d", len(got), len(want))
	}
	for _, e := range got {
		if !want[e.ID.String()] {
			t.Errorf("unexpected or repeated event %s", e.ID)
		}
		delete(want, e.ID.String())
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

func TestWriteErrors(t *testing.T) {
	boom := errors.New("disk full")
	events := []audit.Event{storetest.NewEvent("a")}
	err := jsonl.New(failingWriter{boom}, jsonl.Options{}).Send(t.Context(), events)
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "jsonl: ") {
		t.Errorf("Send to a failing writer = %v, want it to wrap %v", err, boom)
	}
	err = jsonl.New(shortWriter{}, jsonl.Options{}).Send(t.Context(), events)
	if !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("Send to a short writer = %v, want io.ErrShortWrite", err)
	}
}

type flushWriter struct {
	bytes.Buffer
	flushes int
	err     error
}

func (w *flushWriter) Flush() error { w.flushes++; return w.err }

func TestFlushAndClose(t *testing.T) {
	var buf bytes.Buffer
	bw := bufio.NewWriter(&buf)
	s := jsonl.New(bw, jsonl.Options{})
	if err := s.Send(t.Context(), []audit.Event{storetest.NewEvent("a")}); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Fatal("bufio.Writer flushed early; the test needs it to buffer")
	}
	if err := s.Flush(t.Context()); err != nil || buf.Len() == 0 {
		t.Errorf("Flush = %v and wrote %d bytes; want the line written", err, buf.Len())
	}

	w := &flushWriter{}
	s = jsonl.New(w, jsonl.Options{})
	for range 2 {
		if err := s.Close(t.Context()); err != nil {
			t.Errorf("Close = %v", err)
		}
	}
	if w.flushes != 1 {
		t.Errorf("Close flushed %d times, want 1", w.flushes)
	}
	if err := s.Send(t.Context(), []audit.Event{storetest.NewEvent("a")}); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Send after Close = %v, want audit.ErrClosed", err)
	}
	if err := s.Flush(t.Context()); !errors.Is(err, audit.ErrClosed) {
		t.Errorf("Flush after Close = %v, want audit.ErrClosed", err)
	}

	w = &flushWriter{err: errors.New("flush failed")}
	if err := jsonl.New(w, jsonl.Options{}).Flush(t.Context()); !errors.Is(err, w.err) {
		t.Errorf("Flush = %v, want the writer's error", err)
	}
}

func TestName(t *testing.T) {
	if n := jsonl.New(io.Discard, jsonl.Options{}).Name(); n != "jsonl" {
		t.Errorf("default Name = %q", n)
	}
	if n := jsonl.New(io.Discard, jsonl.Options{Name: "audit-file"}).Name(); n != "audit-file" {
		t.Errorf("Name = %q", n)
	}
}
