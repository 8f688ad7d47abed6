package dashboard

import (
	"encoding/json"
	"html/template"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
)

// human formats a count for people: 950, 1.2k, 34k, 1.5M.
func human(n int64) string {
	f, sign := float64(n), ""
	if f < 0 {
		f, sign = -f, "-"
	}
	for _, u := range []struct {
		div    float64
		suffix string
	}{{1e9, "B"}, {1e6, "M"}, {1e3, "k"}} {
		if f >= u.div {
			v := f / u.div
			if v < 10 {
				return sign + trimZero(strconv.FormatFloat(math.Floor(v*10)/10, 'f', 1, 64)) + u.suffix
			}
			return sign + strconv.FormatFloat(math.Floor(v), 'f', 0, 64) + u.suffix
		}
	}
	return sign + strconv.FormatInt(int64(f), 10)
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

// duration formats a duration for people: 0.4 ms, 340 ms, 1.2 s, 3.5 min.
func duration(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d <= 0:
		return "–"
	case ms < 10:
		return trimZero(strconv.FormatFloat(ms, 'f', 1, 64)) + " ms"
	case ms < 1000:
		return strconv.FormatFloat(math.Round(ms), 'f', 0, 64) + " ms"
	case d < time.Minute:
		return trimZero(strconv.FormatFloat(ms/1000, 'f', 1, 64)) + " s"
	case d < time.Hour:
		return trimZero(strconv.FormatFloat(d.Minutes(), 'f', 1, 64)) + " min"
	}
	return trimZero(strconv.FormatFloat(d.Hours(), 'f', 1, 64)) + " h"
}

// percent formats a rate in [0, 1]: 2.5%.
func percent(r float64) string {
	return trimZero(strconv.FormatFloat(r*100, 'f', 1, 64)) + "%"
}

// change formats a metric's change from the previous window: +12%, -3%,
// new, or 0%.
func change(m analysis.Metric) string {
	c := m.Change()
	switch {
	case math.IsInf(c, 1):
		return "new"
	case c > 0:
		return "+" + percent(c)
	}
	return percent(c)
}

// timeText formats a time in UTC to the second.
func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// inputTime formats a time for an <input type="datetime-local">.
func inputTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04")
}

func toJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

// eventDuration is an event's measured duration, else its ms param.
func eventDuration(e audit.Event) time.Duration {
	d, _ := analysis.Duration(&e)
	return d
}

var funcs = template.FuncMap{
	"human":    human,
	"duration": duration,
	"percent":  percent,
	"change":   change,
	"time":     timeText,
	"input":    inputTime,
	"json":     toJSON,
	"dur":      eventDuration,
	"link":     func(f *filter, view string, kv ...string) string { return f.link(view, kv...) },
	"levels":   audit.Levels,
	"ranges":   func() any { return ranges },
	"entity":   entityOf,
	"join":     strings.Join,
	"pageOf": func(f *filter, events []audit.Event) any {
		return struct {
			F      *filter
			Events []audit.Event
		}{f, events}
	},
	"row": func(f *filter, e audit.Event) rowData { return rowData{e, f} },
}

// entityOf returns the object a param value references, nil if none.
func entityOf(v audit.Value) *audit.Entity {
	if e, ok := v.Entity(); ok {
		return &e
	}
	return nil
}
