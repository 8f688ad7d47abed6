package cloudwatch_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/export/cloudwatch"
	"github.com/auditkit/audit/export/cloudwatch/cloudwatchtest"
	"github.com/auditkit/audit/settings"
)

// settingsEnv is an exporter following the export blocks of a settings
// file, watched by an engine.
type settingsEnv struct {
	srv     *cloudwatchtest.Server
	x       *cloudwatch.Exporter
	engine  *settings.Engine
	watcher *settings.Watcher
	path    string

	mu   sync.Mutex
	errs []error
}

// newSettingsEnv starts the server and the exporter on the clock `now`, or
// on the wall clock when clock is time.Now.
func newSettingsEnv(t *testing.T, doc string, clock ...func() time.Time) *settingsEnv {
	t.Helper()
	ctx := context.Background()
	nowFn := func() time.Time { return now }
	if len(clock) > 0 {
		nowFn = clock[0]
	}
	s := &settingsEnv{srv: cloudwatchtest.NewServer(cloudwatchtest.Options{Now: nowFn})}
	t.Cleanup(s.srv.Close)
	s.path = filepath.Join(t.TempDir(), "settings.json")
	s.write(t, doc)
	var err error
	if s.engine, err = settings.New(settings.Config{}, settings.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.engine.Close(ctx) })
	// An hour: the test reloads by hand, so each step is deterministic.
	if s.watcher, err = settings.Watch(s.engine, s.path, settings.WatchOptions{Interval: time.Hour}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.watcher.Close(ctx) })
	s.x, err = cloudwatch.New(cloudwatch.Options{
		SettingsBlocks: s.engine.ExportBlocks,
		Client:         s.srv.Client(),
		Now:            nowFn,
		RetryMin:       time.Millisecond,
		RetryMax:       5 * time.Millisecond,
		OnError: func(err error) {
			s.mu.Lock()
			s.errs = append(s.errs, err)
			s.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.x.Close(ctx) })
	return s
}

func (s *settingsEnv) write(t *testing.T, doc string) {
	t.Helper()
	if err := os.WriteFile(s.path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (s *settingsEnv) reload(t *testing.T, doc string) {
	t.Helper()
	s.write(t, doc)
	if err := s.watcher.Reload(); err != nil {
		t.Fatal(err)
	}
}

func (s *settingsEnv) errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]error(nil), s.errs...)
}

func ev(level audit.Level, typ, msg string, params ...audit.Param) audit.Event {
	return audit.Event{ID: uuid.Must(uuid.NewV7()), Time: now, Level: level, Type: typ, Message: msg, UserID: "alice", Params: params}
}

func messages(evs []cloudwatchtest.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Message)
	}
	return out
}

// TestSettingsBlocksFollowReload checks that an exporter given
// SettingsBlocks sends by the blocks of the settings document, and by the
// new blocks as soon as the document is reloaded: levels, types, params,
// log group, streams, batch size, format, enabled and sink.
func TestSettingsBlocksFollowReload(t *testing.T) {
	ctx := context.Background()
	s := newSettingsEnv(t, `{"exports": [
	  {"name": "errors", "levels": ["error"], "log_group": "/app/first",
	   "streams": {"error": "app_errors"}, "format": "text", "params": []},
	  {"name": "elsewhere", "sink": "otlp", "log_group": "/app/otlp"}
	]}`)
	click := ev(audit.LevelUsage, datagrok.MainMenuItemClick, "menu", audit.String("item", "File | Open"), audit.String("secret", "s"))
	failed := ev(audit.LevelError, audit.TypeError, "boom", audit.String("route", "/x"))
	info := ev(audit.LevelInfo, audit.TypeLog, "hello")
	if err := s.x.Send(ctx, []audit.Event{click, failed, info}); err != nil {
		t.Fatal(err)
	}
	got := messages(s.srv.Events("/app/first", "app_errors"))
	if len(got) != 1 || !strings.Contains(got[0], "msg=boom") || strings.Contains(got[0], "route=") || strings.HasPrefix(got[0], "{") {
		t.Fatalf("/app/first/app_errors = %q, want the error alone, as text, without params", got)
	}
	if st := s.x.Stats(); st.Unmatched != 2 {
		t.Errorf("Unmatched = %d, want 2 (the click and the info event)", st.Unmatched)
	}
	if streams := s.srv.Streams("/app/otlp"); len(streams) != 0 {
		t.Errorf("a block of another sink was used: streams %q", streams)
	}

	// The operator edits the document: menu clicks to their own group, in
	// JSON, one event a request, with only the item param; errors off.
	s.reload(t, `{"exports": [
	  {"name": "errors", "enabled": false, "levels": ["error"], "log_group": "/app/first"},
	  {"name": "menu", "types": ["main-menu-item-click"], "params": ["item"], "log_group": "/app/usage",
	   "default_stream": "menu", "batch_size": 1}
	]}`)
	click2 := ev(audit.LevelUsage, datagrok.MainMenuItemClick, "menu", audit.String("item", "Edit | Copy"))
	failed2 := ev(audit.LevelError, audit.TypeError, "boom again")
	if err := s.x.Send(ctx, []audit.Event{click, failed2, click2}); err != nil {
		t.Fatal(err)
	}
	got = messages(s.srv.Events("/app/usage", "menu"))
	if len(got) != 2 {
		t.Fatalf("/app/usage/menu = %q, want both clicks", got)
	}
	for i, want := range []string{"File | Open", "Edit | Copy"} {
		var m struct {
			Type   string         `json:"type"`
			Params map[string]any `json:"params"`
		}
		if err := json.Unmarshal([]byte(got[i]), &m); err != nil {
			t.Fatalf("message %d is not JSON: %v: %s", i, err, got[i])
		}
		if m.Type != datagrok.MainMenuItemClick || len(m.Params) != 1 || m.Params["item"] != want {
			t.Errorf("message %d = %s, want the click on %q with only its item param", i, got[i], want)
		}
	}
	puts := 0
	for _, p := range s.srv.Puts() {
		if p.Group == "/app/usage" {
			puts++
			if p.Events != 1 {
				t.Errorf("a request to /app/usage held %d events, want 1 (batch_size)", p.Events)
			}
		}
	}
	if puts != 2 {
		t.Errorf("%d requests to /app/usage, want 2", puts)
	}
	if got := messages(s.srv.Events("/app/first", "app_errors")); len(got) != 1 {
		t.Errorf("the disabled block still sends: %q", got)
	}
	if errs := s.errors(); len(errs) > 0 {
		t.Errorf("OnError: %v", errs)
	}
}

// TestSettingsBlocksWithCodeBlocks checks that the settings' blocks match
// before Options.Blocks, and that blocks the exporter cannot use are
// reported once while the blocks in force stay.
func TestSettingsBlocksWithCodeBlocks(t *testing.T) {
	ctx := context.Background()
	srv := cloudwatchtest.NewServer(cloudwatchtest.Options{Now: func() time.Time { return now }})
	defer srv.Close()
	var mu sync.Mutex
	var errs []error
	current := []settings.ExportBlock{{Name: "errors", Levels: []audit.Level{audit.LevelError}, LogGroup: "from-settings"}}
	x, err := cloudwatch.New(cloudwatch.Options{
		Blocks:         []cloudwatch.Block{{LogGroup: "from-code"}},
		SettingsBlocks: func() []settings.ExportBlock { mu.Lock(); defer mu.Unlock(); return current },
		Client:         srv.Client(),
		Now:            func() time.Time { return now },
		OnError:        func(err error) { mu.Lock(); errs = append(errs, err); mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close(ctx)
	send := func() {
		t.Helper()
		if err := x.Send(ctx, []audit.Event{ev(audit.LevelError, audit.TypeError, "e"), ev(audit.LevelInfo, "", "i")}); err != nil {
			t.Fatal(err)
		}
	}
	send()
	if a, b := len(srv.Events("from-settings", "audit")), len(srv.Events("from-code", "audit")); a != 1 || b != 1 {
		t.Fatalf("from-settings got %d, from-code %d; want the error in the first, the info in the second", a, b)
	}

	// Blocks given in Go, not through a validated document, may be ones
	// the exporter refuses.
	mu.Lock()
	current = []settings.ExportBlock{{LogGroup: "bad group"}}
	mu.Unlock()
	send()
	send()
	if a := len(srv.Events("from-settings", "audit")); a != 3 {
		t.Errorf("from-settings got %d events, want 3: the blocks in force stay", a)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `"bad group"`) || !strings.Contains(errs[0].Error(), "blocks in force stay") {
		t.Errorf("OnError got %v, want one error naming the bad log group", errs)
	}
}

func TestSettingsBlocksOptions(t *testing.T) {
	_, err := cloudwatch.New(cloudwatch.Options{SettingsBlocks: func() []settings.ExportBlock { return nil }})
	if err == nil || !strings.Contains(err.Error(), "SettingsBlocks") {
		t.Errorf("New without a connection = %v, want an error naming SettingsBlocks", err)
	}
}

// TestLoggerFollowsSettingsFile runs the whole path a service runs: a
// Logger deciding by an engine that watches a settings file, exporting
// through an exporter that follows the same engine's blocks. Editing the
// file changes both who is logged (nested groups) and where the events go.
func TestLoggerFollowsSettingsFile(t *testing.T) {
	ctx := context.Background()
	s := newSettingsEnv(t, `{
	  "groups": {"staff": ["analysts"]},
	  "exports": [{"name": "usage", "levels": ["usage"], "log_group": "/app/usage", "format": "text", "params": ["item"]}]
	}`, time.Now)
	l, err := audit.New(audit.Options{Sinks: []audit.Sink{s.x}, Policy: s.engine})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	ann := l.WithUser("ann", "analysts")
	if err := ann.Usage("opened", audit.String("item", "File | Open"), datagrok.MainMenuItemClick); err != nil {
		t.Fatal(err)
	}
	if err := ann.Debug("step 1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got := messages(s.srv.Events("/app/usage", "audit"))
	if len(got) != 1 || !strings.Contains(got[0], `item="File | Open"`) {
		t.Fatalf("/app/usage/audit = %q, want the menu click", got)
	}

	// Verbose for staff, which holds analysts; debug events to their own
	// group and stream.
	s.reload(t, `{
	  "groups": {"staff": ["analysts"]},
	  "rules": [{"scope": "group", "id": "staff", "preset": "verbose"}],
	  "exports": [
	    {"name": "debug", "levels": ["debug"], "log_group": "/app/debug", "default_stream": "trace", "format": "text"},
	    {"name": "usage", "levels": ["usage"], "log_group": "/app/usage", "format": "text", "params": ["item"]}
	  ]
	}`)
	if err := ann.Debug("step 2"); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got = messages(s.srv.Events("/app/debug", "trace"))
	if len(got) != 1 || !strings.Contains(got[0], `msg="step 2"`) {
		t.Errorf("/app/debug/trace = %q, want ann's second debug event alone", got)
	}
	if st := l.Stats(); st.Refused != 0 {
		t.Errorf("Stats.Refused = %d", st.Refused)
	}
	if errs := s.errors(); len(errs) > 0 {
		t.Errorf("OnError: %v", errs)
	}
}

// TestSettingsBlocksConcurrentChange sends from several goroutines while
// the policy changes: every event lands in the group of one of the two
// policies, none is lost or sent twice (run with -race).
func TestSettingsBlocksConcurrentChange(t *testing.T) {
	ctx := context.Background()
	s := newSettingsEnv(t, `{"exports": [{"log_group": "one"}]}`)
	policies := []settings.Config{
		{Exports: []settings.ExportBlock{{LogGroup: "one"}}},
		{Exports: []settings.ExportBlock{{LogGroup: "two"}}},
	}
	const senders, sends = 4, 25
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if err := s.engine.Set(policies[i%2]); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var senderWG sync.WaitGroup
	for range senders {
		senderWG.Add(1)
		go func() {
			defer senderWG.Done()
			for range sends {
				if err := s.x.Send(ctx, []audit.Event{ev(audit.LevelInfo, "", "m"), ev(audit.LevelError, "", "e")}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	senderWG.Wait()
	close(stop)
	wg.Wait()
	ids := map[string]bool{}
	for _, g := range []string{"one", "two"} {
		for _, e := range s.srv.Events(g, "audit") {
			var m struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal([]byte(e.Message), &m); err != nil || m.ID == "" {
				t.Fatalf("message without id: %v: %s", err, e.Message)
			}
			id := m.ID
			if ids[id] {
				t.Errorf("event sent twice: %s", e.Message)
			}
			ids[id] = true
		}
	}
	if want := senders * sends * 2; len(ids) != want {
		t.Errorf("%d events delivered, want %d", len(ids), want)
	}
	if errs := s.errors(); len(errs) > 0 {
		t.Errorf("OnError: %v", errs)
	}
}
