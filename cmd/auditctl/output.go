package main

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/auditkit/audit"
)

// outputFlags choose the output format of a question.
type outputFlags struct {
	json, csv bool
	table     string
}

func (o *outputFlags) add(fs *flag.FlagSet, tables ...string) {
	fs.BoolVar(&o.json, "json", false, "print the result as JSON")
	fs.BoolVar(&o.csv, "csv", false, "print one table as CSV, with a header row")
	if len(tables) > 1 {
		fs.StringVar(&o.table, "table", "", "the table to print: "+strings.Join(tables, ", ")+" (default: all in text, "+tables[0]+" in CSV)")
	}
}

func (o *outputFlags) check() error {
	if o.json && o.csv {
		return usageErrorf("--json and --csv are exclusive")
	}
	return nil
}

// report is the answer to a question, in every format: value as JSON; in
// text, the lines then each table under its title; in CSV, one table.
type report struct {
	value  any
	lines  []string
	tables []table
}

// table is a table of a report.
type table struct {
	name, title string
	cols        []column
	rows        [][]any
	// sparse leaves out of text the rows whose counts (every cell after
	// the first) are all zero; CSV and JSON keep them.
	sparse bool
}

// column is a column of a table: its CSV name (snake_case); in text, its
// name upper-cased with the unit suffix (_ms) dropped. csvOnly columns are
// left out of text.
type column struct {
	name    string
	csvOnly bool
}

func cols(names ...string) []column {
	out := make([]column, len(names))
	for i, n := range names {
		out[i] = column{name: n}
	}
	return out
}

// Cell types with a format of their own; other cells print with fmt.
type (
	// change is a relative change (0.5 is +50%), +Inf when the previous
	// value was 0: "new" in text, empty in CSV.
	change float64
	// fingerprint is a stack fingerprint: 12 characters in text.
	fingerprint string
	// params are an event's params: key=value in text (truncated; objects
	// as kind:id), a JSON object in CSV.
	params []audit.Param
	// date is a UTC day: 2006-01-02.
	date time.Time
)

// emit prints r in the format of o.
func (c *cli) emit(o outputFlags, r report) error {
	if err := o.check(); err != nil {
		return err
	}
	tables := r.tables
	if o.table != "" {
		i := slices.IndexFunc(tables, func(t table) bool { return t.name == o.table })
		if i < 0 {
			names := make([]string, len(tables))
			for i, t := range tables {
				names[i] = t.name
			}
			return usageErrorf("--table %q: want one of %s", o.table, strings.Join(names, ", "))
		}
		tables = tables[i : i+1]
	}
	switch {
	case o.json:
		return writeJSON(c.stdout, r.value)
	case o.csv:
		w := csv.NewWriter(c.stdout)
		if len(tables) > 0 {
			writeCSV(w, tables[0], true)
		}
		w.Flush()
		return w.Error()
	}
	for _, l := range r.lines {
		fmt.Fprintln(c.stdout, clean(l))
	}
	for i, t := range tables {
		if i > 0 || len(r.lines) > 0 {
			fmt.Fprintln(c.stdout)
		}
		writeText(c.stdout, t)
	}
	return nil
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// writeText writes t under its title, aligned by a tabwriter.
func writeText(w io.Writer, t table) {
	if t.title != "" {
		fmt.Fprintln(w, t.title+":")
	}
	rows := t.rows
	if t.sparse {
		rows = slices.DeleteFunc(slices.Clone(rows), func(row []any) bool {
			return !slices.ContainsFunc(row[1:], func(v any) bool { n, ok := v.(int64); return !ok || n != 0 })
		})
	}
	if len(rows) == 0 {
		fmt.Fprintln(w, "  (none)")
		return
	}
	tw := newTabWriter(w)
	var head []string
	for _, c := range t.cols {
		if !c.csvOnly {
			head = append(head, textHeader(c.name))
		}
	}
	fmt.Fprintln(tw, "  "+strings.Join(head, "\t"))
	for _, row := range rows {
		var cells []string
		for i, v := range row {
			if !t.cols[i].csvOnly {
				cells = append(cells, textCell(v))
			}
		}
		fmt.Fprintln(tw, strings.TrimRight("  "+strings.Join(cells, "\t"), " "))
	}
	tw.Flush()
}

func newTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
}

func textHeader(name string) string {
	name = strings.TrimSuffix(name, "_ms")
	if name == "user_id" || name == "session_id" {
		name = strings.TrimSuffix(name, "_id")
	}
	return strings.ToUpper(strings.ReplaceAll(name, "_", " "))
}

// writeCSV writes the rows of t, after its header when head is set.
func writeCSV(w *csv.Writer, t table, head bool) {
	if head {
		names := make([]string, len(t.cols))
		for i, c := range t.cols {
			names[i] = c.name
		}
		w.Write(names)
	}
	for _, row := range t.rows {
		cells := make([]string, len(row))
		for i, v := range row {
			cells[i] = csvCell(v)
		}
		w.Write(cells)
	}
}

// Text cells are short: long strings are cut, control characters escaped.
const (
	maxTextCell   = 60
	maxTextParams = 80
)

func textCell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return cut(clean(v), maxTextCell)
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format("2006-01-02 15:04:05")
	case time.Duration:
		return textDuration(v)
	case float64:
		return textFloat(v)
	case change:
		f := float64(v)
		if math.IsInf(f, 1) {
			return "new"
		}
		return fmt.Sprintf("%+.1f%%", f*100)
	case fingerprint:
		return cut(clean(string(v)), 12)
	case date:
		return time.Time(v).UTC().Format(time.DateOnly)
	case params:
		parts := make([]string, len(v))
		for i, p := range v {
			val := p.Value.String()
			if e, ok := p.Value.Entity(); ok {
				val = e.String()
			}
			parts[i] = clean(p.Key) + "=" + clean(val)
		}
		return cut(strings.Join(parts, " "), maxTextParams)
	case audit.Level:
		return v.String()
	}
	return clean(fmt.Sprint(v))
}

func csvCell(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case time.Time:
		if v.IsZero() {
			return ""
		}
		return v.UTC().Format(time.RFC3339Nano)
	case time.Duration:
		if v == 0 { // not measured
			return ""
		}
		return strconv.FormatFloat(float64(v)/float64(time.Millisecond), 'f', -1, 64)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case change:
		f := float64(v)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			return ""
		}
		return strconv.FormatFloat(f, 'g', -1, 64)
	case fingerprint:
		return string(v)
	case date:
		return time.Time(v).UTC().Format(time.DateOnly)
	case params:
		m := make(map[string]audit.Value, len(v))
		for _, p := range v {
			m[p.Key] = p.Value
		}
		if len(m) == 0 {
			return ""
		}
		b, err := json.Marshal(m)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	case audit.Level:
		return v.String()
	}
	return fmt.Sprint(v)
}

func textDuration(d time.Duration) string {
	switch {
	case d == 0:
		return ""
	case d < time.Millisecond:
		return d.String()
	case d < time.Second:
		return d.Round(100 * time.Microsecond).String()
	case d < time.Minute:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// textBucket names a bucket width: "4h", "10m", "1d".
func textBucket(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	s := d.String()
	s = strings.TrimSuffix(s, "0s")
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func textFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', 3, 64)
}

// clean escapes, Go-style, the characters of s that a terminal would not
// show as themselves: control characters (newlines, tabs, escape
// sequences), format characters such as bidi overrides, and invalid
// UTF-8; so that a text table stays one line per row and a logged value
// cannot drive the terminal.
func clean(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r == utf8.RuneError || !strconv.IsPrint(r) }) {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// cut shortens s to n runes, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// windowLine describes a window.
func windowLine(since, until time.Time) string {
	return fmt.Sprintf("Window: %s to %s UTC", textCell(since), textCell(until))
}
