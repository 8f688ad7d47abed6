package dashboard

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
)

var errBadRequest = errors.New("bad request")

// ranges are the time ranges offered, ending now.
var ranges = []struct {
	Key   string
	Label string
	d     time.Duration
}{
	{"1h", "Last hour", time.Hour},
	{"24h", "Last 24 hours", 24 * time.Hour},
	{"7d", "Last 7 days", 7 * 24 * time.Hour},
	{"30d", "Last 30 days", 30 * 24 * time.Hour},
	{"90d", "Last 90 days", 90 * 24 * time.Hour},
	{"365d", "Last year", 365 * 24 * time.Hour},
}

// sharedKeys are the filters every view keeps in its links; the others
// belong to one view.
var sharedKeys = []string{"range", "since", "until", "user", "group", "level"}

// filter is a view's query: the time range and the filters, as the URL
// keeps them.
type filter struct {
	q url.Values

	Range        string // a key of ranges, or "custom" with since/until
	Since, Until time.Time
	User, Group  string
	Level        string
	Levels       []audit.Level // Level parsed
}

// parseFilter reads the shared filters of a URL query; bad values are an
// error wrapping errBadRequest, naming the parameter.
func parseFilter(q url.Values, now time.Time) (*filter, error) {
	f := &filter{q: q, Range: q.Get("range"), User: q.Get("user"), Group: q.Get("group"), Level: q.Get("level")}
	if f.Level != "" {
		l, err := audit.ParseLevel(f.Level)
		if err != nil {
			return f, fmt.Errorf("%w: level: %v", errBadRequest, err)
		}
		f.Levels = []audit.Level{l}
	}
	var err error
	if f.Since, err = parseTime(q.Get("since")); err != nil {
		return f, fmt.Errorf("%w: since: %v", errBadRequest, err)
	}
	if f.Until, err = parseTime(q.Get("until")); err != nil {
		return f, fmt.Errorf("%w: until: %v", errBadRequest, err)
	}
	if !f.Since.IsZero() || !f.Until.IsZero() {
		f.Range = "custom"
		if f.Until.IsZero() {
			f.Until = now
		}
		if f.Since.IsZero() {
			f.Since = f.Until.Add(-7 * 24 * time.Hour)
		}
		if !f.Since.Before(f.Until) {
			return f, fmt.Errorf("%w: since %s is not before until %s", errBadRequest, f.Since.Format(time.RFC3339), f.Until.Format(time.RFC3339))
		}
		return f, nil
	}
	if f.Range == "" {
		f.Range = "7d"
	}
	for _, r := range ranges {
		if r.Key == f.Range {
			f.Until = now
			f.Since = now.Add(-r.d)
			return f, nil
		}
	}
	return f, fmt.Errorf("%w: range %q: want one of 1h, 24h, 7d, 30d, 90d, 365d", errBadRequest, f.Range)
}

// parseTime reads RFC 3339, a date and time without zone (UTC, as an
// <input type="datetime-local"> sends it) or a date; "" is the zero time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (2026-11-01 or 2026-11-01T09:00)", s)
}

// scope returns the user, group and level filters, which every analysis
// request applies.
func (f *filter) scope() analysis.Scope {
	return analysis.Scope{Users: list(f.User), Groups: list(f.Group), Levels: f.Levels}
}

func list(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// Get returns a view's own parameter.
func (f *filter) Get(key string) string { return strings.TrimSpace(f.q.Get(key)) }

// link returns the relative URL of view with the shared filters of f and
// the given key, value pairs (an empty value drops the key).
func (f *filter) link(view string, kv ...string) string {
	q := url.Values{}
	for _, k := range sharedKeys {
		if v := f.q.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	if view == "" {
		view = "./"
	}
	if len(q) == 0 {
		return view
	}
	return view + "?" + q.Encode()
}
