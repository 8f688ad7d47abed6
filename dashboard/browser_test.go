package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/auditkit/audit/dashboard"
	"github.com/auditkit/audit/internal/browsertest"
)

// problems collects what the browser reports as wrong: exceptions, console
// errors, failed requests and HTTP errors.
type problems struct {
	mu   sync.Mutex
	list []string
}

func (p *problems) add(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.list = append(p.list, fmt.Sprintf(format, args...))
}

func (p *problems) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	l := p.list
	p.list = nil
	return l
}

func (p *problems) listen(t *testing.T, ctx context.Context) {
	err := chromedp.Listen(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			d := ev.ExceptionDetails
			if d.Exception != nil {
				p.add("exception: %s %s", d.Text, d.Exception.Description)
			} else {
				p.add("exception: %s", d.Text)
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == "error" {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value))
				}
				p.add("console error: %s", strings.Join(args, " "))
			}
		case *network.EventLoadingFailed:
			if !ev.Canceled {
				p.add("request failed: %s", ev.ErrorText)
			}
		case *network.EventResponseReceived:
			if ev.Response.Status >= 400 {
				p.add("HTTP %d: %s", ev.Response.Status, ev.Response.URL)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

func screenshotDir(t *testing.T) string {
	if d := os.Getenv("DASHBOARD_SCREENSHOTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestBrowser drives every view in headless Chromium over a generated log
// of 3,000 events in SQLite: each loads without errors and shows what the
// analysis package answers for the same question; a filter changes the
// URL and the content; the live tail shows a new event; a screenshot of
// each view is written (to $DASHBOARD_SCREENSHOTS when set).
func TestBrowser(t *testing.T) {
	ctx := browsertest.Start(t, 180*time.Second)
	start := time.Now().UTC()
	now := start.Add(time.Hour) // the log's events, and those the test writes, are before it
	store, _ := fixture(t, 3000, start)
	clock := func() time.Time { return now }
	_, srv := serve(t, store, dashboard.Options{Now: clock, TailInterval: 100 * time.Millisecond})
	a, err := analysis.New(store, analysis.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	var p problems
	p.listen(t, ctx)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	shots := screenshotDir(t)
	base := srv.URL + "/audit/"

	// open loads a view, waits for its charts, checks that nothing went
	// wrong and takes its screenshot.
	open := func(t *testing.T, path, shot string, charts int) {
		t.Helper()
		err := chromedp.Do(ctx,
			chromedp.Navigate(base+path),
			chromedp.WaitVisible("main h1"),
			chromedp.Poll[chromedp.Void](fmt.Sprintf("document.querySelectorAll('.uplot').length >= %d", charts), chromedp.WithPollingTimeout(5*time.Second)),
		)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		drawn, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.querySelectorAll('.uplot canvas').length"))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if drawn < charts {
			t.Errorf("%s: %d charts drawn, want %d", path, drawn, charts)
		}
		alert, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('[role=alert]')||{}).textContent||''`))
		if err != nil || alert != "" {
			t.Errorf("%s shows an error: %s", path, alert)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, shot+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, pr := range p.take() {
			t.Errorf("%s: %s", path, pr)
		}
	}
	// texts returns the text of the elements a selector matches.
	texts := func(t *testing.T, js string) []string {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	num := func(s string) int64 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			t.Fatalf("%q is not a number", s)
		}
		return n
	}

	t.Run("Overview", func(t *testing.T) {
		open(t, "", "overview", 2)
		want, err := a.Overview(context.Background(), analysis.OverviewRequest{})
		if err != nil {
			t.Fatal(err)
		}
		got := texts(t, `[...document.querySelectorAll('[data-card]')].map(c => c.dataset.card + '=' + c.querySelector('.big data').value + '/' + c.querySelector('.prev data').value)`)
		var exp []string
		for _, c := range []struct {
			name string
			m    analysis.Metric
		}{{"Active users", want.ActiveUsers}, {"New users", want.NewUsers}, {"Sessions", want.Sessions}, {"Events", want.Events}, {"Errors", want.Errors}} {
			exp = append(exp, fmt.Sprintf("%s=%d/%d", c.name, c.m.Current, c.m.Previous))
		}
		if strings.Join(got, " ") != strings.Join(exp, " ") {
			t.Errorf("cards %v, want %v", got, exp)
		}
		if want.Events.Current == 0 || want.Events.Previous == 0 {
			t.Errorf("the fixture leaves a window empty: %+v", want.Events)
		}
	})

	t.Run("Log", func(t *testing.T) {
		open(t, "log", "log", 0)
		feed, err := a.Feed(context.Background(), analysis.FeedRequest{Since: now.Add(-7 * 24 * time.Hour), Until: now})
		if err != nil {
			t.Fatal(err)
		}
		links := texts(t, `[...document.querySelectorAll('table.events tbody tr td:first-child a')].map(a => new URL(a.href).searchParams.get('id'))`)
		if len(links) != len(feed.Events) || links[0] != feed.Events[0].ID.String() || links[len(links)-1] != feed.Events[len(feed.Events)-1].ID.String() {
			t.Errorf("log rows %d (first %v), want %d from %s", len(links), links[:min(1, len(links))], len(feed.Events), feed.Events[0].ID)
		}

		// Changing the level filter changes the URL and the rows.
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		loaded := chromedp.Events(lctx, page.LoadEventFired)
		err = chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`setTimeout(() => { // after the evaluation returns: the change navigates
				const s = document.querySelector('select[name=level]');
				s.value = 'error';
				s.dispatchEvent(new Event('change', {bubbles: true}));
			}, 0)`))
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range loaded {
			if err != nil {
				t.Fatalf("the filtered page did not load: %v", err)
			}
			break
		}
		url, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(url, "since=") || strings.Contains(url, "user=") {
			t.Errorf("URL %s keeps empty filters", url)
		}
		errs, err := a.Feed(context.Background(), analysis.FeedRequest{Since: now.Add(-7 * 24 * time.Hour), Until: now, Scope: analysis.Scope{Levels: []audit.Level{audit.LevelError}}})
		if err != nil {
			t.Fatal(err)
		}
		levels := texts(t, `[...document.querySelectorAll('table.events tbody tr td:nth-child(2)')].map(td => td.textContent)`)
		if len(levels) != len(errs.Events) || len(levels) == 0 || strings.Trim(strings.Join(levels, ""), "eror") != "" {
			t.Errorf("after the level filter: %d rows of levels %v, want %d errors", len(levels), levels[:min(3, len(levels))], len(errs.Events))
		}
		for _, pr := range p.take() {
			t.Errorf("filter: %s", pr)
		}
	})

	t.Run("LiveTail", func(t *testing.T) {
		open(t, "log?live=1", "log-live", 0)
		if err := chromedp.Do(ctx, chromedp.Poll[chromedp.Void](`document.getElementById('tail-status').textContent.includes('following')`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
			t.Fatalf("the live tail did not start: %v", err)
		}
		msg := "logged during the test " + uuid.NewString()
		e := audit.Event{ID: uuid.Must(uuid.NewV7()), Time: time.Now(), Level: audit.LevelWarning, Type: "log", Message: msg, UserID: "user01"}
		if err := store.Write(context.Background(), []audit.Event{e}); err != nil {
			t.Fatal(err)
		}
		written := time.Now()
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		err := chromedp.Do(wctx, chromedp.Poll[chromedp.Void](fmt.Sprintf(`document.querySelector('table.events tbody tr td:nth-child(5)').textContent === %q`, msg), chromedp.WithPollingInterval(10*time.Millisecond)))
		if err != nil {
			t.Fatalf("the live tail did not show the new event within a second: %v", err)
		}
		t.Logf("the live tail showed the event %s after it was stored", time.Since(written).Round(time.Millisecond))
		for _, pr := range p.take() {
			t.Errorf("live tail: %s", pr)
		}
	})

	t.Run("Event", func(t *testing.T) {
		page, err := a.Feed(context.Background(), analysis.FeedRequest{Scope: analysis.Scope{Levels: []audit.Level{audit.LevelError}}, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		e := page.Events[0]
		open(t, "event?id="+e.ID.String(), "event", 0)
		if got := texts(t, `[document.querySelector('pre.stack').textContent]`); got[0] != e.StackTrace {
			t.Errorf("stack trace %q, want %q", got[0], e.StackTrace)
		}
	})

	t.Run("Usage", func(t *testing.T) {
		open(t, "usage", "usage", 1)
		want, err := a.Usage(context.Background(), analysis.UsageRequest{})
		if err != nil {
			t.Fatal(err)
		}
		got := texts(t, `[...document.querySelectorAll('main > p data, section:first-child tbody tr td:last-child data')].map(d => d.value)`)
		exp := []string{fmt.Sprint(want.Total)}
		for _, c := range want.ByType {
			exp = append(exp, fmt.Sprint(c.Count))
		}
		if strings.Join(got, " ") != strings.Join(exp, " ") {
			t.Errorf("usage total and by type %v, want %v", got, exp)
		}

		// By package, and a package's functions (the drill-down).
		want, err = a.Usage(context.Background(), analysis.UsageRequest{Packages: true})
		if err != nil {
			t.Fatal(err)
		}
		got = texts(t, `[...document.querySelectorAll('tr[data-package]')].map(r => r.dataset.package + '=' + r.querySelector('data').value)`)
		exp = nil
		for _, p := range want.ByPackage {
			exp = append(exp, fmt.Sprintf("%s=%d", p.Package, p.Events))
		}
		if len(exp) == 0 || strings.Join(got, " ") != strings.Join(exp, " ") {
			t.Errorf("usage by package %v, want %v", got, exp)
		}
		pkg := want.ByPackage[0]
		if err := chromedp.Do(ctx, chromedp.Click(fmt.Sprintf(`tr[data-package=%q] a`, pkg.Package)), chromedp.WaitVisible("table.package-functions")); err != nil {
			t.Fatalf("drilling down into %s: %v", pkg.Package, err)
		}
		if url := first(chromedp.Run(ctx, chromedp.Location())); !strings.Contains(url, "package="+pkg.Package) {
			t.Errorf("the drill-down's URL %s names no package", url)
		}
		got = texts(t, `[...document.querySelectorAll('tr[data-package-function]')].map(r => r.dataset.packageFunction + '=' + r.querySelector('data').value)`)
		exp = nil
		for _, c := range pkg.Functions {
			exp = append(exp, fmt.Sprintf("%s=%d", c.Key, c.Count))
		}
		if len(exp) == 0 || strings.Join(got, " ") != strings.Join(exp, " ") {
			t.Errorf("functions of %s %v, want %v", pkg.Package, got, exp)
		}
		for _, pr := range p.take() {
			t.Errorf("drill-down: %s", pr)
		}
	})

	t.Run("Functions", func(t *testing.T) {
		open(t, "functions", "functions", 1)
		want, err := a.Functions(context.Background(), analysis.FunctionsRequest{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		got := texts(t, `[...document.querySelectorAll('tr[data-function]')].map(r => r.dataset.function + '=' + r.querySelector('data').value)`)
		var exp []string
		for _, f := range want.Functions {
			exp = append(exp, fmt.Sprintf("%s=%d", f.Function, f.Calls))
		}
		if strings.Join(got, " ") != strings.Join(exp, " ") {
			t.Errorf("functions %v, want %v", got, exp)
		}
	})

	t.Run("Errors", func(t *testing.T) {
		open(t, "errors", "errors", 1)
		want, err := a.Errors(context.Background(), analysis.ErrorsRequest{})
		if err != nil {
			t.Fatal(err)
		}
		if got := num(texts(t, `[document.querySelector('main > p data').value]`)[0]); got != want.Total || len(want.Groups) == 0 {
			t.Errorf("errors total %d, want %d", got, want.Total)
		}
		if got := num(texts(t, `[String(JSON.parse(document.querySelector('[data-chart]').dataset.chart).series[0].values.reduce((a, b) => a + b, 0))]`)[0]); got != want.Total {
			t.Errorf("errors over time add up to %d, want %d", got, want.Total)
		}
		open(t, "errors?fp="+want.Groups[0].Fingerprint, "errors-group", 1)
	})

	t.Run("Performance", func(t *testing.T) {
		open(t, "perf", "perf", 0)
		want, err := a.Perf(context.Background(), analysis.PerfRequest{})
		if err != nil {
			t.Fatal(err)
		}
		got := texts(t, `[...document.querySelectorAll('tr[data-name]')].map(r => r.dataset.name + '=' + r.querySelector('data').value)`)
		var exp []string
		for _, s := range append(want.Routes, want.Types...) {
			exp = append(exp, fmt.Sprintf("%s=%d", s.Name, s.Count))
		}
		if strings.Join(got, " ") != strings.Join(exp, " ") {
			t.Errorf("perf %v, want %v", got, exp)
		}

		// Over time: the busiest route by default, then a record type.
		want, err = a.Perf(context.Background(), analysis.PerfRequest{OverTime: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range []struct {
			route            bool
			name, path, shot string
		}{{true, want.Routes[0].Name, "perf", "perf-route"}, {false, want.Types[0].Name, "perf?op=" + url.QueryEscape("type "+want.Types[0].Name), "perf-type"}} {
			open(t, op.path, op.shot, 2)
			var rows, p50s []string
			var exp, expP50 []string
			for _, b := range want.OverTime {
				if b.Route == op.route && b.Name == op.name {
					exp = append(exp, fmt.Sprintf("%d=%d/%d", b.Start.Unix(), b.Count, b.P99.Nanoseconds()))
					expP50 = append(expP50, strconv.FormatFloat(float64(b.P50)/float64(time.Millisecond), 'g', -1, 64))
				}
			}
			rows = texts(t, `[...document.querySelectorAll('table.over-time tr[data-start]')].map(r => r.dataset.start + '=' + r.querySelector('data').value + '/' + r.querySelectorAll('data')[3].value)`)
			p50s = texts(t, `JSON.parse(document.querySelector('[data-chart]').dataset.chart).series[0].values.map(String)`)
			if len(exp) == 0 || strings.Join(rows, " ") != strings.Join(exp, " ") {
				t.Errorf("%s over time: rows %v, want %v", op.name, rows, exp)
			}
			if strings.Join(p50s, " ") != strings.Join(expP50, " ") {
				t.Errorf("%s over time: p50 chart %v, want %v", op.name, p50s, expP50)
			}
		}
	})

	t.Run("Others", func(t *testing.T) {
		open(t, "patterns", "patterns", 0)
		open(t, "object?kind=query&id=q-3", "object", 1)
		open(t, "settings", "settings", 0)
	})

	t.Run("SettingsRevert", func(t *testing.T) {
		src := settingsStore(t, testPolicies...)
		_, ssrv := serve(t, store, dashboard.Options{Now: clock, SettingsStore: src, SettingsWrite: true,
			User: func(*http.Request) string { return "browser" }})
		current := `document.querySelector('strong[data-version]').dataset.version`
		if err := chromedp.Do(ctx, chromedp.Navigate(ssrv.URL+"/audit/settings?user=bob"), chromedp.WaitVisible("main h1")); err != nil {
			t.Fatal(err)
		}
		if v := texts(t, "["+current+"]"); v[0] != "2" {
			t.Fatalf("current version %s, want 2", v[0])
		}
		lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		loaded := chromedp.Events(lctx, page.LoadEventFired)
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`setTimeout(() => document.querySelector('tr[data-version="1"] button').click(), 0)`)); err != nil {
			t.Fatal(err)
		}
		for _, err := range loaded {
			if err != nil {
				t.Fatalf("the page after the revert did not load: %v", err)
			}
			break
		}
		if v := texts(t, "["+current+", document.querySelector('[role=status]').textContent]"); v[0] != "3" || v[1] != "Version 3 is now in force." {
			t.Errorf("after the revert: version %s, notice %q; want 3", v[0], v[1])
		}
		if v := latest(t, src); v.RevertOf != 1 || v.ChangedBy != "browser" {
			t.Errorf("the revert made %+v", v)
		}
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shots, "settings-write.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, pr := range p.take() {
			t.Errorf("settings: %s", pr)
		}
	})
}
