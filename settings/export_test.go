package settings_test

import (
	"context"
	"path/filepath"
	"time"

	"errors"
	"strings"
	"testing"

	"github.com/auditkit/audit/internal/audittest"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/settings"
	"github.com/google/go-cmp/cmp"
)

const exportsPolicy = `{
  "exports": [
    {"name": "errors", "sink": "cloudwatch", "enabled": true, "levels": ["error"],
     "types": ["error", "function-call"], "params": ["route", "status"],
     "log_group": "/app/audit", "streams": {"log": "app_log", "error": "app_errors"},
     "default_stream": "misc", "batch_size": 500, "format": "text"},
    {"log_group": "app.all", "params": []},
    {"name": "old", "enabled": false, "log_group": "app-old", "params": null, "streams": {}}
  ]
}`

func TestParseExports(t *testing.T) {
	got, err := settings.Parse([]byte(exportsPolicy))
	if err != nil {
		t.Fatal(err)
	}
	want := settings.Config{Exports: []settings.ExportBlock{
		{Name: "errors", Sink: "cloudwatch", Levels: []audit.Level{audit.LevelError},
			Types: []string{"error", "function-call"}, Params: []string{"route", "status"},
			LogGroup: "/app/audit", Streams: map[string]string{"log": "app_log", "error": "app_errors"},
			DefaultStream: "misc", BatchSize: 500, Format: "text"},
		{LogGroup: "app.all", Params: []string{}},
		{Name: "old", Disabled: true, LogGroup: "app-old"},
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Parse (-want +got):\n%s", d)
	}
	if d := cmp.Diff(got, roundTrip(t, got)); d != "" {
		t.Fatalf("round trip (-first +second):\n%s", d)
	}
	if s := got.Exports[1].SinkName(); s != settings.DefaultSink {
		t.Errorf("SinkName of a block without sink = %q, want %q", s, settings.DefaultSink)
	}
}

func TestParseExportsInvalid(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want []string // each a substring of the error
	}{
		{`{"exports": [{}]}`, []string{`exports[0].log_group: required`}},
		{`{"exports": [null]}`, []string{`exports[0]: want an object, got null`}},
		{`{"exports": {"log_group": "a"}}`, []string{`exports: want a list`}},
		{`{"exports": [{"log_group": "aws/x"}]}`, []string{`exports[0].log_group: "aws/x": the prefix aws/ is reserved`}},
		{`{"exports": [{"log_group": "a b"}]}`, []string{`exports[0].log_group: "a b": want 1-512`}},
		{`{"exports": [{"log_group": "` + strings.Repeat("g", 513) + `"}]}`, []string{`exports[0].log_group`}},
		{`{"exports": [{"log_group": "g", "levels": ["loud"]}]}`, []string{`exports[0].levels[0]: unknown level "loud"`}},
		{`{"exports": [{"log_group": "g", "types": [""], "params": ["", "ok"]}]}`, []string{`exports[0].types[0]: empty record type`, `exports[0].params[0]: empty param key`}},
		{`{"exports": [{"log_group": "g", "streams": {"log": "a:b", "error": ""}}]}`, []string{`exports[0].streams["log"]: stream name "a:b": ':' and '*' are not allowed`, `exports[0].streams["error"]: stream name "": 0 characters`}},
		{`{"exports": [{"log_group": "g", "default_stream": "*"}]}`, []string{`exports[0].default_stream`}},
		{`{"exports": [{"log_group": "g", "streams": {"log": "` + strings.Repeat("é", 513) + `"}}]}`, []string{`exports[0].streams["log"]: stream name`, `513 characters, want 1-512`}},
		{`{"exports": [{"log_group": "g", "batch_size": 10001}, {"log_group": "g", "batch_size": -1}]}`, []string{`exports[0].batch_size: 10001 is not within [1, 10000]`, `exports[1].batch_size: -1`}},
		{`{"exports": [{"log_group": "g", "batch_size": "many"}]}`, []string{`exports[0].batch_size: want an integer, got a JSON string`}},
		{`{"exports": [{"log_group": "g", "format": "xml"}]}`, []string{`exports[0].format: unknown format "xml": want json or text`}},
		{`{"exports": [{"log_group": "g", "enabled": "yes"}]}`, []string{`exports[0].enabled: want true or false`}},
		{`{"exports": [{"log_group": "g", "group": "g"}]}`, []string{`exports[0].group: unknown field`}},
		{`{"exports": [{"log_group": "g", "name": "a\u0000"}]}`, []string{`exports[0].name: "a\x00" holds invalid UTF-8 or control characters`}},
		{`{"exports": [{"log_group": "g", "name": "a"}, {"log_group": "h", "name": "a", "sink": "other"}, {"log_group": "h", "name": "a", "sink": "cloudwatch"}]}`,
			[]string{`exports[2].name: "a" is also the name of exports[0] of sink cloudwatch`}},
	} {
		_, err := settings.Parse([]byte(tc.doc))
		if err == nil {
			t.Errorf("Parse(%s) succeeded", tc.doc)
			continue
		}
		if !errors.Is(err, settings.ErrInvalidPolicy) {
			t.Errorf("Parse(%s) = %v, not ErrInvalidPolicy", tc.doc, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Parse(%s) = %v\nwant it to contain %s", tc.doc, err, w)
			}
		}
	}
}

// TestExportBlocksFollowSet checks that an engine's export blocks are
// those of the policy in force, the same slice until the policy changes,
// and unchanged by a refused policy.
func TestExportBlocksFollowSet(t *testing.T) {
	p, err := settings.Parse([]byte(exportsPolicy))
	if err != nil {
		t.Fatal(err)
	}
	e, err := settings.New(p, settings.Options{})
	if err != nil {
		t.Fatal(err)
	}
	first := e.ExportBlocks()
	if d := cmp.Diff(p.Exports, first); d != "" {
		t.Fatalf("ExportBlocks (-want +got):\n%s", d)
	}
	p.Exports[0].LogGroup = "changed-by-caller"
	if e.ExportBlocks()[0].LogGroup != "/app/audit" {
		t.Fatal("the engine shares the caller's blocks")
	}
	if again := e.ExportBlocks(); &again[0] != &first[0] {
		t.Error("ExportBlocks returned a new slice though the policy did not change")
	}
	for _, bad := range []settings.ExportBlock{{LogGroup: ""}, {LogGroup: "g", DefaultStream: "\xff"}, {LogGroup: "g", Levels: []audit.Level{9}}} {
		if err := e.Set(settings.Config{Exports: []settings.ExportBlock{bad}}); err == nil {
			t.Fatalf("Set accepted the invalid block %+v", bad)
		}
	}
	if got := e.ExportBlocks(); &got[0] != &first[0] {
		t.Error("a refused policy changed the export blocks")
	}
	if err := e.Set(settings.Config{Exports: []settings.ExportBlock{{LogGroup: "next"}}}); err != nil {
		t.Fatal(err)
	}
	if got := e.ExportBlocks(); len(got) != 1 || got[0].LogGroup != "next" {
		t.Errorf("ExportBlocks after Set = %+v, want the one block of log group next", got)
	}
}

// TestWatchExportsAndGroups checks that a policy file's export blocks and
// group nesting reload live, and that a broken block leaves both in force.
func TestWatchExportsAndGroups(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.json")
	writeFile(t, path, `{"exports": [{"log_group": "first"}]}`)
	e := newEngine(t, settings.Config{}, nil)
	var errs audittest.ErrorLog
	w, err := settings.Watch(e, path, settings.WatchOptions{Interval: 5 * time.Millisecond, OnError: errs.Add})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	group := func() string {
		if b := e.ExportBlocks(); len(b) == 1 {
			return b[0].LogGroup
		}
		return ""
	}
	if group() != "first" {
		t.Fatalf("export blocks after the first load: %+v", e.ExportBlocks())
	}
	intern := e.Bind(audit.Subject{UserID: "u", Groups: []string{"interns"}})

	writeFile(t, path, `{"groups": {"staff": ["interns"]}, "rules": [{"scope": "group", "id": "staff", "preset": "verbose"}],
	  "exports": [{"log_group": "second", "levels": ["error"]}]}`)
	audittest.Eventually(t, "the new blocks to apply", func() bool { return group() == "second" })
	if intern.Route(audit.LevelDebug, "")&audit.RouteStore == 0 {
		t.Error("the reloaded nesting does not put interns in staff")
	}

	writeFile(t, path, `{"groups": {"staff": ["interns"], "interns": ["staff"]}, "exports": [{"log_group": "third", "format": "yaml"}]}`)
	audittest.Eventually(t, "the broken file to be reported", func() bool { return len(errs.Errors()) == 1 })
	msg := errs.Errors()[0].Error()
	for _, want := range []string{`exports[0].format: unknown format "yaml"`, `cycle: "interns" -> "staff" -> "interns"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("reported %q, want it to contain %s", msg, want)
		}
	}
	if group() != "second" || intern.Route(audit.LevelDebug, "")&audit.RouteStore == 0 {
		t.Error("a broken file changed the policy in force")
	}
}
