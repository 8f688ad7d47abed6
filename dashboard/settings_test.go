package dashboard_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/dashboard"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/settings"
	"github.com/auditkit/audit/settings/pgsettings"
)

// settingsStore opens a Postgres settings store in a schema of its own,
// holding the versions of policies (version 1 is policies[0]).
func settingsStore(t *testing.T, policies ...settings.Config) *pgsettings.Source {
	t.Helper()
	ctx := context.Background()
	e, err := settings.New(settings.Config{}, settings.Options{})
	if err != nil {
		t.Fatal(err)
	}
	src, err := pgsettings.Open(ctx, pgtest.DSN(t), e, pgsettings.Options{Schema: pgtest.Schema(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := src.Close(ctx); err != nil {
			t.Error(err)
		}
		e.Close(ctx)
	})
	for i, p := range policies {
		if _, err := src.Set(ctx, p, "alice", fmt.Sprint("version ", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	return src
}

// testPolicies are two versions: bob verbose and ops off, then bob off.
var testPolicies = []settings.Config{
	{Rules: []settings.Rule{
		{Scope: settings.ScopeUser, ID: "bob", Preset: settings.PresetVerbose, Comment: "incident 7"},
		{Scope: settings.ScopeGroup, ID: "ops", Preset: settings.PresetOff},
	}},
	{Rules: []settings.Rule{{Scope: settings.ScopeUser, ID: "bob", Preset: settings.PresetOff}}},
}

func latest(t *testing.T, src *pgsettings.Source) pgsettings.Version {
	t.Helper()
	vs, err := src.History(context.Background(), 1)
	if err != nil || len(vs) == 0 {
		t.Fatalf("history: %v, %d versions", err, len(vs))
	}
	return vs[0]
}

// TestSettingsStoreView shows the versioned settings read-only: the
// effective settings of the user and group of the filters (with the
// groups Options.Groups gives), the rules, the history; no form, and no
// POST accepted.
func TestSettingsStoreView(t *testing.T) {
	src := settingsStore(t, testPolicies...)
	_, srv := serve(t, first(fixture(t, 10, time.Now())), dashboard.Options{SettingsStore: src,
		Groups: func(u string) []string { return map[string][]string{"carol": {"ops"}}[u] }})
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/audit/settings", []string{`data-version="2"`, `data-rule="user:bob"`, "2 (current)", "version 1", "(read-only)",
			"the default (standard preset, no rule applies)"}},
		{"/audit/settings?user=bob", []string{"user <strong>bob</strong>", `rules[0] (user &#34;bob&#34;, off`,
			`<tr data-level="debug"><td>debug</td><td>not logged</td>`}},
		{"/audit/settings?user=carol", []string{"in the groups ops", "the default"}},
	} {
		status, body := get(t, srv.URL+tc.path)
		for _, w := range tc.want {
			if status != 200 || !strings.Contains(body, w) {
				t.Errorf("GET %s: %d, want %q in\n%.3000s", tc.path, status, w, body)
			}
		}
		if strings.Contains(body, `name="token"`) {
			t.Errorf("GET %s: a change form without the write option", tc.path)
		}
	}
	resp, err := http.PostForm(srv.URL+"/audit/settings", url.Values{"action": {"revert"}, "version": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || latest(t, src).Version != 2 {
		t.Errorf("POST without the write option: %d, current version %d; want 405 and 2", resp.StatusCode, latest(t, src).Version)
	}
}

// TestSettingsWrite changes the settings through the view's forms: a
// cross-origin request, one without the user's token or without a user are
// refused; an invalid policy is refused with the reason; a valid one makes
// a version attributed to the user; a revert restores an earlier policy.
func TestSettingsWrite(t *testing.T) {
	src := settingsStore(t, testPolicies...)
	_, srv := serve(t, first(fixture(t, 10, time.Now())), dashboard.Options{SettingsStore: src, SettingsWrite: true,
		User: func(r *http.Request) string { return r.Header.Get("X-User") }})
	page := func(user string) string {
		req, _ := http.NewRequest("GET", srv.URL+"/audit/settings?user=bob", nil)
		req.Header.Set("X-User", user)
		_, _, body := do(t, req)
		return body
	}
	tokenOf := func(user string) string {
		m := regexp.MustCompile(`name="token" value="([0-9a-f]+)"`).FindStringSubmatch(page(user))
		if m == nil {
			t.Fatalf("no form token for %s", user)
		}
		return m[1]
	}
	token := tokenOf("dave")
	post := func(user string, header http.Header, form url.Values) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/audit/settings?user=bob", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", srv.URL)
		req.Header.Set("X-User", user)
		for k, v := range header {
			req.Header[k] = v
		}
		return do(t, req)
	}
	valid := `{"rules": [{"scope": "user", "id": "bob", "preset": "standard"}]}`
	set := url.Values{"token": {token}, "action": {"set"}, "policy": {valid}, "comment": {"incident closed"}}
	with := func(v url.Values, k, val string) url.Values {
		out := url.Values{}
		for key, vs := range v {
			out[key] = vs
		}
		out.Set(k, val)
		return out
	}
	for _, tc := range []struct {
		name   string
		user   string
		header http.Header
		form   url.Values
		status int
		want   string
	}{
		{"cross-origin", "dave", http.Header{"Origin": {"https://evil.example"}}, set, 403, "cross-origin"},
		{"cross-site fetch", "dave", http.Header{"Sec-Fetch-Site": {"cross-site"}}, set, 403, "cross-origin"},
		{"no token", "dave", nil, with(set, "token", ""), 403, "token"},
		{"another user's token", "erin", nil, set, 403, "token"},
		{"no user", "", nil, set, 403, "no user"},
		{"invalid JSON", "dave", nil, with(set, "policy", `{"rules": [`), 400, "Not changed: settings: invalid policy"},
		{"invalid policy", "dave", nil, with(set, "policy", `{"rules": [{"scope": "user", "preset": "loud"}]}`), 400, "rules[0]"},
		{"no comment", "dave", nil, with(set, "comment", " "), 400, "a comment is required"},
		{"no such version", "dave", nil, url.Values{"token": {token}, "action": {"revert"}, "version": {"99"}}, 404, "no such version"},
		{"bad version", "dave", nil, url.Values{"token": {token}, "action": {"revert"}, "version": {"x"}}, 400, "not a version number"},
		{"unknown action", "dave", nil, with(set, "action", "drop"), 400, "want set or revert"},
	} {
		status, _, body := post(tc.user, tc.header, tc.form)
		if status != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want %d with %q in\n%.2000s", tc.name, status, tc.status, tc.want, body)
		}
		if v := latest(t, src).Version; v != 2 {
			t.Fatalf("%s: made version %d", tc.name, v)
		}
	}
	// A refused policy is shown again, for fixing.
	if _, _, body := post("dave", nil, with(set, "policy", `{"rules": [{"scope": "user", "preset": "loud"}]}`)); !strings.Contains(body, `&#34;preset&#34;: &#34;loud&#34;`) {
		t.Errorf("the refused policy is not in the form again:\n%.3000s", body)
	}

	status, loc, body := post("dave", nil, set)
	if status != http.StatusSeeOther || loc != "settings?done=3&user=bob" {
		t.Fatalf("set: %d Location %q, want 303 to settings?done=3&user=bob\n%.2000s", status, loc, body)
	}
	v := latest(t, src)
	if v.Version != 3 || v.ChangedBy != "dave" || v.Comment != "incident closed" || len(v.Config.Rules) != 1 || v.Config.Rules[0].Preset != settings.PresetStandard {
		t.Errorf("set made %+v", v)
	}
	if p := page("dave"); !strings.Contains(p, "Version 3 is now in force") && !strings.Contains(p, `data-version="3"`) {
		t.Errorf("the view after the change:\n%.2000s", p)
	}
	if x := src.Effective(audit.Subject{UserID: "bob"}); len(x.Rules) != 1 || x.Rules[0].Rule.Preset != settings.PresetStandard {
		t.Errorf("bob's effective settings after the change: %+v", x.Rules)
	}

	status, loc, _ = post("dave", nil, url.Values{"token": {token}, "action": {"revert"}, "version": {"1"}})
	if status != http.StatusSeeOther || loc != "settings?done=4&user=bob" {
		t.Fatalf("revert: %d Location %q", status, loc)
	}
	v = latest(t, src)
	if v.Version != 4 || v.RevertOf != 1 || v.ChangedBy != "dave" || len(v.Config.Rules) != 2 || v.Config.Rules[0].Preset != settings.PresetVerbose {
		t.Errorf("revert made %+v", v)
	}
	if x := src.Effective(audit.Subject{UserID: "bob"}); len(x.Rules) != 1 || x.Rules[0].Rule.Preset != settings.PresetVerbose {
		t.Errorf("bob's effective settings after the revert: %+v", x.Rules)
	}
}

func TestSettingsOptionsRefused(t *testing.T) {
	s := first(fixture(t, 1, time.Now()))
	src := settingsStore(t)
	engine, err := settings.New(settings.Config{}, settings.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close(context.Background())
	user := func(*http.Request) string { return "u" }
	for _, o := range []dashboard.Options{
		{SettingsWrite: true, User: user},
		{SettingsStore: src, SettingsWrite: true},
		{Settings: engine, SettingsStore: src},
	} {
		if _, err := dashboard.New(s, o); !errors.Is(err, audit.ErrInvalidOptions) {
			t.Errorf("New(%+v) = %v, want ErrInvalidOptions", o, err)
		}
	}
}
