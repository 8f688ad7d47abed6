package settings_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/settings"
	"github.com/google/go-cmp/cmp"
)

const fullPolicy = `{
  "version": 7,
  "levels": {"store": ["debug", "info", "warning", "error", "audit", "usage"], "export": ["audit", "error"], "print": []},
  "rules": [
    {"scope": "everyone", "preset": "standard"},
    {"scope": "group", "id": "analysts", "preset": "custom", "add": ["dialog-ok"], "remove": ["log"],
     "add_levels": ["debug"], "remove_levels": ["warn"], "comment": "ticket 42"},
    {"scope": "user", "id": "alice", "preset": "verbose", "expires": "2025-03-01T13:00:00+01:00"},
    {"scope": "session", "id": "s1", "preset": "off"},
    {"scope": "package", "id": "charts", "preset": "off"}
  ]
}`

func TestParse(t *testing.T) {
	got, err := settings.Parse([]byte(fullPolicy))
	if err != nil {
		t.Fatal(err)
	}
	want := settings.Config{
		Version: 7,
		Levels: settings.Levels{
			Store:  audit.Levels(),
			Export: []audit.Level{audit.LevelAudit, audit.LevelError},
			Print:  []audit.Level{},
		},
		Rules: []settings.Rule{
			{Scope: settings.ScopeEveryone, Preset: settings.PresetStandard},
			{Scope: settings.ScopeGroup, ID: "analysts", Preset: settings.PresetCustom, Add: []string{"dialog-ok"}, Remove: []string{"log"},
				AddLevels: []audit.Level{audit.LevelDebug}, RemoveLevels: []audit.Level{audit.LevelWarning}, Comment: "ticket 42"},
			{Scope: settings.ScopeUser, ID: "alice", Preset: settings.PresetVerbose, Expires: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)},
			{Scope: settings.ScopeSession, ID: "s1", Preset: settings.PresetOff},
			{Scope: settings.ScopePackage, ID: "charts", Preset: settings.PresetOff},
		},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("Parse (-want +got):\n%s", d)
	}
	again := roundTrip(t, got)
	if d := cmp.Diff(got, again); d != "" {
		t.Fatalf("round trip (-first +second):\n%s", d)
	}
}

func roundTrip(t testing.TB, p settings.Config) settings.Config {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	again, err := settings.Parse(data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", data, err)
	}
	return again
}

func TestParseDefaults(t *testing.T) {
	for _, doc := range []string{`{}`, `{"levels": null, "rules": null}`, `{"levels": {"store": null}}`} {
		p, err := settings.Parse([]byte(doc))
		if err != nil {
			t.Fatalf("Parse(%s): %v", doc, err)
		}
		if p.Levels.Store != nil || p.Rules != nil {
			t.Errorf("Parse(%s) = %+v, want the defaults (nil lists)", doc, p)
		}
	}
	// [] is no level at all, unlike null.
	p, err := settings.Parse([]byte(`{"levels": {"print": []}}`))
	if err != nil || p.Levels.Print == nil || len(p.Levels.Print) != 0 {
		t.Fatalf("Parse(print: []) = %+v, %v; want an empty, non-nil list", p.Levels.Print, err)
	}
}

// TestParseErrors checks that each error names the field and the reason.
func TestParseErrors(t *testing.T) {
	cases := []struct {
		doc  string
		want []string // each a whole error line
	}{
		{`{"rules": [{"scope": "user", "preset": "verbose"}]}`,
			[]string{"settings: invalid policy: rules[0].id: required for scope user"}},
		{`{"rules": [{"scope": "everyone", "preset": "standard"}, {"scope": "user", "id": "a", "preset": "verbose", "expires": "tomorrow"}]}`,
			[]string{`settings: invalid policy: rules[1].expires: want an RFC 3339 time such as "2025-01-02T15:04:05Z", got "tomorrow"`}},
		{`{"rules": [{"scope": "grp", "id": "a", "preset": "loud"}]}`, []string{
			`settings: invalid policy: rules[0].scope: unknown scope "grp": want one of everyone, group, user, session, package`,
			`settings: invalid policy: rules[0].preset: unknown preset "loud": want one of standard, verbose, custom, off`,
		}},
		{`{"rules": [{"scope": "everyone", "id": "x", "preset": "off"}]}`,
			[]string{`settings: invalid policy: rules[0].id: must be empty for scope everyone, got "x"`}},
		{`{"rules": [{}]}`, []string{
			"settings: invalid policy: rules[0].scope: required: one of everyone, group, user, session, package",
			"settings: invalid policy: rules[0].preset: required: one of standard, verbose, custom, off",
		}},
		{`{"rulez": []}`, []string{"settings: invalid policy: rulez: unknown field"}},
		{`{"rules": [{"scope": "everyone", "preset": "off", "Add": []}]}`, []string{"settings: invalid policy: rules[0].Add: unknown field"}},
		{`{"levels": {"store": ["loud"], "peek": []}}`, []string{
			"settings: invalid policy: levels.peek: unknown field",
			`settings: invalid policy: levels.store[0]: unknown level "loud": want one of debug, info, warning, error, audit, usage`,
		}},
		{`{"version": "7"}`, []string{"settings: invalid policy: version: want an integer, got a JSON string"}},
		{`{"version": -1}`, []string{"settings: invalid policy: version: must not be negative, got -1"}},
		{`{"levels": []}`, []string{"settings: invalid policy: levels: want an object, got a JSON array"}},
		{`{"rules": {}}`, []string{"settings: invalid policy: rules: want a list, got a JSON object"}},
		{`{"rules": [null]}`, []string{"settings: invalid policy: rules[0]: want an object, got null"}},
		{`{"rules": [{"scope": "user", "id": 5, "preset": "off"}]}`, []string{"settings: invalid policy: rules[0].id: want a string, got a JSON number"}},
		{`{"rules": [{"scope": "user", "id": "a", "preset": "custom", "add": ["x", ""], "remove": ["x"]}]}`, []string{
			"settings: invalid policy: rules[0].add[1]: empty record type",
			`settings: invalid policy: rules[0].remove[0]: type "x" is also in add`,
		}},
		{`{"rules": [{"scope": "user", "id": "a", "preset": "custom", "add_levels": ["debug"], "remove_levels": ["debug", 3]}]}`, []string{
			// Values that do not decode are reported before any rule is checked.
			"settings: invalid policy: rules[0].remove_levels[1]: want a level name, got a JSON number",
		}},
		{`{"rules": [{"scope": "user", "id": "a", "preset": "custom", "add_levels": ["debug"], "remove_levels": ["info", "debug"]}]}`, []string{
			"settings: invalid policy: rules[0].remove_levels[1]: level debug is also in add_levels",
		}},
		{`{"rules": [{"scope": "user", "id": "a", "preset": "off", "expires": "0000-06-01T00:00:00Z"}]}`,
			[]string{"settings: invalid policy: rules[0].expires: year 0 is outside 1 to 9999"}},
		{"{\n  \"rules\": [\n    {\"scope\": \"user\",}\n  ]\n}",
			[]string{"settings: invalid policy: line 3, column 22: invalid character '}' looking for beginning of object key string"}},
		{`[]`, []string{"settings: invalid policy: want an object, got a JSON array"}},
		{`null`, []string{"settings: invalid policy: want a JSON object, got null"}},
		{``, []string{"settings: invalid policy: line 1, column 0: unexpected end of JSON input"}},
	}
	for _, c := range cases {
		_, err := settings.Parse([]byte(c.doc))
		if err == nil {
			t.Errorf("Parse(%s): no error, want %q", c.doc, c.want)
			continue
		}
		if !errors.Is(err, settings.ErrInvalidPolicy) {
			t.Errorf("Parse(%s) = %v, not ErrInvalidPolicy", c.doc, err)
		}
		var fe *settings.FieldError
		if !errors.As(err, &fe) {
			t.Errorf("Parse(%s) = %v, not a FieldError", c.doc, err)
		}
		if got := strings.Split(err.Error(), "\n"); !cmp.Equal(got, c.want) {
			t.Errorf("Parse(%s) errors (-want +got):\n%s", c.doc, cmp.Diff(c.want, got))
		}
	}
}

func TestValidateGoValue(t *testing.T) {
	p := settings.Config{
		Levels: settings.Levels{Store: []audit.Level{audit.LevelAudit, 9}},
		Rules: []settings.Rule{
			{Scope: settings.ScopeUser, ID: "a", Preset: settings.PresetOff, AddLevels: []audit.Level{0}},
			{Scope: settings.ScopeUser, ID: "b", Preset: settings.PresetOff, Expires: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		},
	}
	want := []string{
		"settings: invalid policy: levels.store[1]: invalid level 9",
		"settings: invalid policy: rules[0].add_levels[0]: invalid level 0",
		"settings: invalid policy: rules[1].expires: year 10000 is outside 1 to 9999",
	}
	err := p.Validate()
	if err == nil {
		t.Fatal("Validate: no error")
	}
	if got := strings.Split(err.Error(), "\n"); !cmp.Equal(got, want) {
		t.Errorf("Validate (-want +got):\n%s", cmp.Diff(want, got))
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.json")
	if err := os.WriteFile(path, []byte(fullPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := settings.Load(path)
	if err != nil || len(p.Rules) != 5 {
		t.Fatalf("Load = %d rules, %v", len(p.Rules), err)
	}
	if _, err := settings.Load(filepath.Join(dir, "missing.json")); err == nil || !strings.HasPrefix(err.Error(), "settings: ") {
		t.Errorf("Load(missing) = %v", err)
	}
	os.WriteFile(path, []byte(`{"rules": [{"scope": "user"}]}`), 0o644)
	if _, err := settings.Load(path); err == nil || !strings.Contains(err.Error(), path+": settings: invalid policy: rules[0].id") {
		t.Errorf("Load(invalid) = %v", err)
	}
}

// FuzzParse checks that Parse never panics, and that every policy it
// accepts is marshalled to JSON that parses to the same policy.
func FuzzParse(f *testing.F) {
	f.Add([]byte(fullPolicy))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"rules": [{"scope": "user", "id": "a", "preset": "custom", "add": [], "remove": ["log"], "expires": "2025-01-02T15:04:05.123456789-07:00"}]}`))
	f.Add([]byte(`{"levels": {"store": [], "export": null, "print": ["WARN", " error "]}}`))
	f.Add([]byte(`{"rules": [{"scope": "group", "id": "\u00e9\ud83d\ude00", "preset": "off", "add_levels": [], "comment": "\u0000"}]}`))
	f.Add([]byte(`{"version": 1e3}`))
	f.Add([]byte(exportsPolicy))
	f.Add([]byte(`{"groups": {"a": ["b", "c"], "b": ["c"], "c": null}, "exports": [{"log_group": "g", "streams": {"": "s"}, "params": []}]}`))
	f.Add([]byte(`{"groups": {"a": ["b"], "b": ["a"]}, "exports": [null, {"enabled": null, "batch_size": 1e4}]}`))
	f.Add([]byte(`{"rules": [{"scope": "user", "scope": "group", "id": "x", "preset": "verbose"}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := settings.Parse(data)
		if err != nil {
			if !errors.Is(err, settings.ErrInvalidPolicy) {
				t.Fatalf("Parse error %v is not ErrInvalidPolicy", err)
			}
			return
		}
		again := roundTrip(t, p)
		if d := cmp.Diff(p, again); d != "" {
			t.Fatalf("round trip of %q (-first +second):\n%s", data, d)
		}
		if _, err := settings.New(p, settings.Options{}); err != nil {
			t.Fatalf("New refused a parsed policy: %v", err)
		}
	})
}
