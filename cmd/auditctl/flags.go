package main

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/auditkit/audit"
)

// listFlag is a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// windowFlags are --since and --until.
type windowFlags struct{ since, until string }

func (w *windowFlags) add(fs *flag.FlagSet, def string) {
	fs.StringVar(&w.since, "since", "", "start of the window, inclusive: RFC 3339, a date or a duration before now (7d); default "+def)
	fs.StringVar(&w.until, "until", "", "end of the window, exclusive: RFC 3339, a date or a duration before now; default now")
}

// resolve returns the window's bounds, zero when not given.
func (w *windowFlags) resolve(now time.Time) (since, until time.Time, err error) {
	if since, err = parseTime(w.since, now); err != nil {
		return time.Time{}, time.Time{}, usageErrorf("--since: %v", err)
	}
	if until, err = parseTime(w.until, now); err != nil {
		return time.Time{}, time.Time{}, usageErrorf("--until: %v", err)
	}
	if !since.IsZero() && !until.IsZero() && !since.Before(until) {
		return time.Time{}, time.Time{}, usageErrorf("--since %s is not before --until %s", since.Format(time.RFC3339), until.Format(time.RFC3339))
	}
	return since, until, nil
}

// parseTime reads a time as RFC 3339, a date (UTC midnight), a date and
// time without zone (UTC), or a duration before now with days allowed
// ("7d", "36h", "1d12h"). The empty string is the zero time.
func parseTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	d, err := parseDuration(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a time (2026-11-01, 2026-11-01T09:00:00Z) nor a duration (7d, 36h)", s)
	}
	if d < 0 {
		return time.Time{}, fmt.Errorf("duration %q is negative", s)
	}
	return now.Add(-d), nil
}

// parseDuration is time.ParseDuration with a leading number of days
// allowed: "7d", "1d12h", "2.5d".
func parseDuration(s string) (time.Duration, error) {
	if i := strings.IndexByte(s, 'd'); i > 0 {
		days, err := strconv.ParseFloat(s[:i], 64)
		if err != nil {
			return 0, err
		}
		d := time.Duration(days * float64(24*time.Hour))
		if rest := s[i+1:]; rest != "" {
			r, err := time.ParseDuration(rest)
			if err != nil {
				return 0, err
			}
			d += r
		}
		return d, nil
	}
	return time.ParseDuration(s)
}

// durationFlag is a duration flag that accepts days ("1d").
type durationFlag struct{ d time.Duration }

func (f *durationFlag) String() string {
	if f.d == 0 {
		return ""
	}
	return f.d.String()
}

func (f *durationFlag) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return fmt.Errorf("%q is not a duration (10m, 4h, 1d)", s)
	}
	if d < 0 {
		return fmt.Errorf("%q is negative", s)
	}
	f.d = d
	return nil
}

// parseObject reads an object argument: "kind:id", or an id alone (any
// kind); ":id" is an id of any kind that contains a colon.
func parseObject(s string) (audit.Entity, error) {
	if s == "" {
		return audit.Entity{}, usageErrorf("empty object: want kind:id or an id")
	}
	kind, id, ok := strings.Cut(s, ":")
	if !ok {
		return audit.Entity{ID: s}, nil
	}
	if id == "" {
		return audit.Entity{}, usageErrorf("object %q has an empty id: want kind:id or an id", s)
	}
	return audit.Entity{Kind: kind, ID: id}, nil
}

// parseLevels reads levels given as repeated or comma-separated flags.
func parseLevels(vals []string) ([]audit.Level, error) {
	var out []audit.Level
	for _, v := range vals {
		for _, name := range strings.Split(v, ",") {
			l, err := audit.ParseLevel(strings.TrimSpace(name))
			if err != nil {
				return nil, usageErrorf("--level: %v", err)
			}
			out = append(out, l)
		}
	}
	return out, nil
}

// nonNegative checks a count flag.
func nonNegative(name string, v int) error {
	if v < 0 {
		return usageErrorf("--%s %d is negative", name, v)
	}
	return nil
}
