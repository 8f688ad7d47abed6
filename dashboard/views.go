package dashboard

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
	"github.com/google/uuid"
)

// view is a page of the dashboard: its title, whether the navigation lists
// it and what it reads. Every view over the events applies the time range
// and the user, group and level filters (the scope of its analysis
// requests).
type view struct {
	title string
	nav   int // position in the navigation; 0: not listed
	load  func(ctx context.Context, h *Handler, f *filter) (any, error)
}

var views = map[string]view{
	"overview":  {"Overview", 1, loadOverview},
	"log":       {"Log", 2, loadLog},
	"usage":     {"Usage", 3, loadUsage},
	"functions": {"Functions", 4, loadFunctions},
	"errors":    {"Errors", 5, loadErrors},
	"perf":      {"Performance", 6, loadPerf},
	"patterns":  {"Patterns", 7, loadPatterns},
	"settings":  {"Settings", 8, nil}, // settingsPage
	"event":     {"Event", 0, loadEvent},
	"object":    {"Object", 0, loadObject},
}

type navItem struct{ Name, Title string }

func navItems() []navItem {
	var out []navItem
	for name, v := range views {
		if v.nav > 0 {
			out = append(out, navItem{name, v.title})
		}
	}
	slices.SortFunc(out, func(a, b navItem) int { return views[a.Name].nav - views[b.Name].nav })
	return out
}

// page is what the layout renders.
type page struct {
	View, Title string
	F           *filter
	Nav         []navItem
	Data        any
	Err         string
}

func parsePages() (map[string]*template.Template, error) {
	out := map[string]*template.Template{}
	for name := range views {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("dashboard: templates: %w", err)
		}
		out[name] = t
	}
	return out, nil
}

// page renders a view, or the error that kept it from loading.
func (h *Handler) page(w http.ResponseWriter, r *http.Request, name string, load func(context.Context, *Handler, *filter) (any, error)) {
	f, err := parseFilter(r.URL.Query(), h.opts.Now())
	p := h.newPage(name, f)
	if err == nil {
		p.Data, err = load(r.Context(), h, f)
	}
	status := http.StatusOK
	if err != nil {
		status, p.Err, p.Data = errStatus(err), err.Error(), nil
	}
	h.render(w, p, status)
}

func (h *Handler) newPage(name string, f *filter) page {
	return page{View: name, Title: views[name].title, F: f, Nav: navItems()}
}

// render writes a page with status.
func (h *Handler) render(w http.ResponseWriter, p page, status int) {
	var buf bytes.Buffer
	if err := h.pages[p.View].Execute(&buf, p); err != nil {
		http.Error(w, "dashboard: rendering "+p.View+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// chart is the data of a uPlot chart: times (Unix seconds) and one or more
// series of numbers over them.
type chart struct {
	Title  string   `json:"title"`
	Bars   bool     `json:"bars"`
	X      []int64  `json:"x"`
	Series []series `json:"series"`
}

type series struct {
	Label  string    `json:"label"`
	Values []float64 `json:"values"`
}

// timeChart makes a one-series chart of counts over time.
func timeChart(title, label string, counts []analysis.TimeCount, bars bool) chart {
	c := chart{Title: title, Bars: bars, Series: []series{{Label: label}}}
	for _, tc := range counts {
		c.X = append(c.X, tc.Start.Unix())
		c.Series[0].Values = append(c.Series[0].Values, float64(tc.Count))
	}
	return c
}

// levelChart makes a chart of events per level over time, a series per
// level.
func levelChart(title string, counts []analysis.LevelCount) chart {
	c := chart{Title: title}
	xs := map[int64]int{}
	idx := map[audit.Level]int{}
	for _, lc := range counts {
		x := lc.Start.Unix()
		if _, ok := xs[x]; !ok {
			xs[x] = len(c.X)
			c.X = append(c.X, x)
		}
		if _, ok := idx[lc.Level]; !ok {
			idx[lc.Level] = len(c.Series)
			c.Series = append(c.Series, series{Label: lc.Level.String()})
		}
	}
	for i := range c.Series {
		c.Series[i].Values = make([]float64, len(c.X))
	}
	for _, lc := range counts {
		if i, ok := idx[lc.Level]; ok {
			c.Series[i].Values[xs[lc.Start.Unix()]] += float64(lc.Count)
		}
	}
	return c
}

type card struct {
	Label  string
	Metric analysis.Metric
}

type overviewData struct {
	R      analysis.OverviewResult
	Cards  []card
	Users  chart
	Levels chart
}

func loadOverview(ctx context.Context, h *Handler, f *filter) (any, error) {
	r, err := h.a.Overview(ctx, analysis.OverviewRequest{Since: f.Since, Until: f.Until, Scope: f.scope()})
	if err != nil {
		return nil, err
	}
	return overviewData{
		R: r,
		Cards: []card{{"Active users", r.ActiveUsers}, {"New users", r.NewUsers}, {"Sessions", r.Sessions},
			{"Events", r.Events}, {"Errors", r.Errors}},
		Users:  timeChart("Unique users per day", "users", r.UsersPerDay, true),
		Levels: levelChart("Events per level, every "+duration(r.Bucket), r.EventsOverTime),
	}, nil
}

type logData struct {
	Page                     analysis.FeedPage
	Type, Text, Param, Value string
	Tail                     string // the tail's URL
}

func (f *filter) feedRequest() analysis.FeedRequest {
	return analysis.FeedRequest{
		Scope: f.scope(), Types: list(f.Get("type")),
		Text: f.Get("text"), Param: f.Get("param"), Value: f.Get("value"),
	}
}

func loadLog(ctx context.Context, h *Handler, f *filter) (any, error) {
	req := f.feedRequest()
	req.Since, req.Until, req.Limit, req.After = f.Since, f.Until, 100, f.Get("after")
	p, err := h.a.Feed(ctx, req)
	if err != nil {
		return nil, err
	}
	d := logData{Page: p, Type: f.Get("type"), Text: req.Text, Param: req.Param, Value: req.Value}
	if req.After == "" {
		d.Tail = f.link("tail", "type", d.Type, "text", d.Text, "param", d.Param, "value", d.Value, "from", p.Head)
	}
	return d, nil
}

type eventData struct {
	E        audit.Event
	Duration time.Duration
	Objects  []audit.Entity
}

func loadEvent(ctx context.Context, h *Handler, f *filter) (any, error) {
	id, err := uuid.Parse(f.Get("id"))
	if err != nil {
		return nil, fmt.Errorf("%w: id: %q is not an event id", errBadRequest, f.Get("id"))
	}
	e, err := h.a.Event(ctx, id)
	if err != nil {
		return nil, err
	}
	d, _ := analysis.Duration(&e)
	return eventData{E: e, Duration: d, Objects: e.Entities()}, nil
}

type usageData struct {
	U         analysis.UsageResult
	Functions []analysis.FunctionStat
	Unused    analysis.UnusedResult
	Days      chart
	// Package is the package drilled down into (the package key of the
	// URL), nil for none.
	Package *analysis.PackageUsage
}

func loadUsage(ctx context.Context, h *Handler, f *filter) (any, error) {
	u, err := h.a.Usage(ctx, analysis.UsageRequest{Since: f.Since, Until: f.Until, Scope: f.scope(), Packages: true})
	if err != nil {
		return nil, err
	}
	fn, err := h.a.Functions(ctx, analysis.FunctionsRequest{Since: f.Since, Until: f.Until, Limit: 1, Scope: f.scope()})
	if err != nil {
		return nil, err
	}
	un, err := h.a.Unused(ctx, analysis.UnusedRequest{Since: f.Since, Until: f.Until, Limit: 15, Scope: f.scope()})
	if err != nil {
		return nil, err
	}
	d := usageData{U: u, Functions: fn.Functions, Unused: un, Days: timeChart("Events per day", "events", u.ByDay, true)}
	if name := f.Get("package"); name != "" {
		d.Package = &analysis.PackageUsage{Package: name} // no events in the window
		for i, p := range u.ByPackage {
			if p.Package == name {
				d.Package = &u.ByPackage[i]
			}
		}
	}
	return d, nil
}

type functionsData struct {
	R        analysis.FunctionsResult
	Function string
	Calls    chart
}

func loadFunctions(ctx context.Context, h *Handler, f *filter) (any, error) {
	r, err := h.a.Functions(ctx, analysis.FunctionsRequest{Since: f.Since, Until: f.Until, Scope: f.scope(),
		Function: f.Get("function"), Limit: 50, After: f.Get("after")})
	if err != nil {
		return nil, err
	}
	c := chart{Title: "Calls and failures, every " + duration(r.Bucket), Series: []series{{Label: "calls"}, {Label: "failures"}}}
	at := map[int64]int{}
	for _, s := range r.Series {
		x := s.Start.Unix()
		i, ok := at[x]
		if !ok {
			i = len(c.X)
			at[x] = i
			c.X = append(c.X, x)
			c.Series[0].Values = append(c.Series[0].Values, 0)
			c.Series[1].Values = append(c.Series[1].Values, 0)
		}
		c.Series[0].Values[i] += float64(s.Calls)
		c.Series[1].Values[i] += float64(s.Errors)
	}
	sortChart(&c)
	return functionsData{R: r, Function: f.Get("function"), Calls: c}, nil
}

// sortChart orders a chart's points by time.
func sortChart(c *chart) {
	order := make([]int, len(c.X))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return int(c.X[a] - c.X[b]) })
	x := make([]int64, len(order))
	for i, o := range order {
		x[i] = c.X[o]
	}
	c.X = x
	for s := range c.Series {
		v := make([]float64, len(order))
		for i, o := range order {
			v[i] = c.Series[s].Values[o]
		}
		c.Series[s].Values = v
	}
}

type errorsData struct {
	R           analysis.ErrorsResult
	Fingerprint string
	Errors      chart
}

func loadErrors(ctx context.Context, h *Handler, f *filter) (any, error) {
	fp := f.Get("fp")
	r, err := h.a.Errors(ctx, analysis.ErrorsRequest{Since: f.Since, Until: f.Until, Fingerprint: fp, Scope: f.scope()})
	if err != nil {
		return nil, err
	}
	return errorsData{R: r, Fingerprint: fp, Errors: timeChart("Errors, every "+duration(r.Bucket), "failures", r.OverTime, false)}, nil
}

type perfData struct {
	R             analysis.PerfResult
	Routes, Types []perfRow
	// Op is the route or record type shown over time (the op key of the
	// URL, default the busiest route, else record type), with its title,
	// buckets and charts.
	Op, OpTitle         string
	Buckets             []analysis.PerfBucket
	Durations, ErrRates chart
}

// perfRow is a route or record type with the link that shows it over time.
type perfRow struct {
	analysis.PerfStat
	Link     string
	Selected bool
}

// opTitle names a route (with its method unless the route starts with
// it) or a record type for people.
func opTitle(route bool, method, name string) string {
	if route && !strings.HasPrefix(name, method+" ") {
		return method + " " + name
	}
	return name
}

// opKey identifies a route ("route METHOD NAME") or a record type ("type
// NAME") in the perf view's URL.
func opKey(route bool, method, name string) string {
	if route {
		return "route " + method + " " + name
	}
	return "type " + name
}

func loadPerf(ctx context.Context, h *Handler, f *filter) (any, error) {
	r, err := h.a.Perf(ctx, analysis.PerfRequest{Since: f.Since, Until: f.Until, Scope: f.scope(), OverTime: true})
	if err != nil {
		return nil, err
	}
	d := perfData{R: r, Op: f.Get("op")}
	switch {
	case d.Op != "":
	case len(r.Routes) > 0:
		d.Op = opKey(true, r.Routes[0].Method, r.Routes[0].Name)
	case len(r.Types) > 0:
		d.Op = opKey(false, "", r.Types[0].Name)
	}
	for _, x := range []struct {
		route bool
		stats []analysis.PerfStat
		rows  *[]perfRow
	}{{true, r.Routes, &d.Routes}, {false, r.Types, &d.Types}} {
		for _, st := range x.stats {
			key := opKey(x.route, st.Method, st.Name)
			*x.rows = append(*x.rows, perfRow{PerfStat: st, Link: f.link("perf", "op", key), Selected: key == d.Op})
			if key == d.Op {
				d.OpTitle = opTitle(x.route, st.Method, st.Name)
			}
		}
	}
	d.Durations = chart{Title: "Duration (ms) of " + d.OpTitle + ", every " + duration(r.Bucket),
		Series: []series{{Label: "p50"}, {Label: "p95"}, {Label: "p99"}}}
	d.ErrRates = chart{Title: "Error rate (%) of " + d.OpTitle + ", every " + duration(r.Bucket), Bars: true, Series: []series{{Label: "failures"}}}
	ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
	for _, b := range r.OverTime {
		if opKey(b.Route, b.Method, b.Name) != d.Op {
			continue
		}
		d.Buckets = append(d.Buckets, b)
		for _, c := range []*chart{&d.Durations, &d.ErrRates} {
			c.X = append(c.X, b.Start.Unix())
		}
		for i, v := range []float64{ms(b.P50), ms(b.P95), ms(b.P99)} {
			d.Durations.Series[i].Values = append(d.Durations.Series[i].Values, v)
		}
		d.ErrRates.Series[0].Values = append(d.ErrRates.Series[0].Values, b.ErrorRate*100)
	}
	return d, nil
}

func loadPatterns(ctx context.Context, h *Handler, f *filter) (any, error) {
	return h.a.Patterns(ctx, analysis.PatternsRequest{Since: f.Since, Until: f.Until, Scope: f.scope()})
}

type objectData struct {
	Object   audit.Entity
	Activity analysis.ActivityResult
	Usage    analysis.UsageResult
	History  analysis.HistoryResult
	Days     chart
}

func loadObject(ctx context.Context, h *Handler, f *filter) (any, error) {
	obj := audit.Ref(f.Get("kind"), f.Get("id"))
	if obj.ID == "" {
		return nil, fmt.Errorf("%w: id: the object's id is missing", errBadRequest)
	}
	act, err := h.a.Activity(ctx, analysis.ActivityRequest{Object: obj, Since: f.Since, Until: f.Until, Limit: 100, Scope: f.scope()})
	if err != nil {
		return nil, err
	}
	use, err := h.a.Usage(ctx, analysis.UsageRequest{Object: &obj, Since: f.Since, Until: f.Until, Scope: f.scope()})
	if err != nil {
		return nil, err
	}
	hist, err := h.a.History(ctx, analysis.HistoryRequest{Object: obj, Limit: 1000})
	if err != nil {
		return nil, err
	}
	return objectData{Object: obj, Activity: act, Usage: use, History: hist, Days: timeChart("Events per day", "events", use.ByDay, true)}, nil
}
