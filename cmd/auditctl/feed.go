package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/analysis"
)

func runFeed(ctx context.Context, c *cli, args []string) error {
	q := c.question("", `The newest events that match the filters, a page at a time (--after continues), newest first.
  --all   every matching event, page after page: for exports (--csv, or --json as one event per line);
          a progress bar is drawn on stderr when it is a terminal
  -f      print the last --limit events (default 10), oldest first, then each new one as it is
          stored, until interrupted (Ctrl-C, exit 0); --json prints one event per line`, "no bound")
	q.withScope()
	var types listFlag
	q.fs.Var(&types, "type", "only events of this record type (repeatable)")
	limit := q.fs.Int("limit", 0, "events per page (default 100; with -f, the events shown before following: default 10; with --all, 1000)")
	after := q.fs.String("after", "", "continue after this cursor (printed as the next page)")
	all := q.fs.Bool("all", false, "every matching event, page after page")
	var follow bool
	q.fs.BoolVar(&follow, "f", false, "follow: print new events as they are stored, until interrupted")
	q.fs.BoolVar(&follow, "follow", false, "the same as -f")
	interval := durationFlag{d: time.Second}
	q.fs.Var(&interval, "interval", "with -f, how often to look for new events")
	pos, err := c.parse(q.fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageErrorf("unexpected argument %q", pos[0])
	case *all && follow:
		return usageErrorf("--all and -f are exclusive")
	case follow && *after != "":
		return usageErrorf("-f follows new events: --after does not apply")
	case follow && q.win.until != "":
		return usageErrorf("-f follows new events: --until does not apply")
	case interval.d == 0:
		return usageErrorf("--interval must be positive")
	}
	if err := nonNegative("limit", *limit); err != nil {
		return err
	}
	if err := q.out.check(); err != nil {
		return err
	}
	if err := q.parseScope(); err != nil {
		return err
	}
	since, until, err := q.win.resolve(c.now())
	if err != nil {
		return err
	}
	a, done, err := c.openAnalyzer(ctx, analysis.Options{PollInterval: interval.d})
	if err != nil {
		return err
	}
	defer done()
	req := analysis.FeedRequest{Scope: q.sc, Types: types, Since: since, Until: until, Limit: *limit, After: *after}
	switch {
	case follow:
		return c.follow(ctx, a, q.out, req)
	case *all:
		return c.exportAll(ctx, a, q.out, req)
	}
	page, err := a.Feed(ctx, req)
	if err != nil {
		return err
	}
	lines := []string{plural(len(page.Events), "event") + ", newest first"}
	if page.Next != "" {
		lines = append(lines, "More: --after "+page.Next)
	}
	return c.emit(q.out, report{value: page, lines: lines, tables: []table{eventsTable("events", "", page.Events)}})
}

// exportAll prints every event that matches req, newest first, page after
// page, with a progress bar on a terminal.
func (c *cli) exportAll(ctx context.Context, a *analysis.Analyzer, o outputFlags, req analysis.FeedRequest) error {
	if req.Until.IsZero() {
		req.Until = c.now() // the count and the pages see the same events
	}
	if req.Limit == 0 {
		req.Limit = 1000
	}
	var total int64
	if c.stderrTTY {
		var err error
		if total, err = countFeed(ctx, a, req); err != nil {
			return err
		}
	}
	bar := c.newProgress(total, "events")
	w := c.eventWriter(o, false)
	var n int64
	for {
		page, err := a.Feed(ctx, req)
		if err != nil {
			return err
		}
		for _, e := range page.Events {
			if err := w.write(e); err != nil {
				return err
			}
		}
		n += int64(len(page.Events))
		bar.update(n)
		if page.Next == "" {
			break
		}
		req.After = page.Next
	}
	bar.finish(n)
	return w.close()
}

// countFeed returns how many events req matches, when it can tell from the
// usage counts (filters of time and type only); 0 otherwise.
func countFeed(ctx context.Context, a *analysis.Analyzer, req analysis.FeedRequest) (int64, error) {
	if len(req.Levels) > 0 || len(req.Users) > 0 || len(req.Groups) > 0 || req.After != "" {
		return 0, nil
	}
	since := req.Since
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	u, err := a.Usage(ctx, analysis.UsageRequest{Since: since, Until: req.Until})
	if err != nil {
		return 0, err
	}
	if len(req.Types) == 0 {
		return u.Total, nil
	}
	var n int64
	for _, t := range u.ByType {
		if slices.Contains(req.Types, t.Key) {
			n += t.Count
		}
	}
	return n, nil
}

// follow prints the last events that match req, oldest first, then each
// new one as it is stored, until ctx ends.
func (c *cli) follow(ctx context.Context, a *analysis.Analyzer, o outputFlags, req analysis.FeedRequest) error {
	if req.Limit == 0 {
		req.Limit = 10
	}
	page, err := a.Feed(ctx, req)
	if err != nil {
		return err
	}
	w := c.eventWriter(o, true)
	for _, e := range slices.Backward(page.Events) {
		if err := w.write(e); err != nil {
			return err
		}
	}
	if err := w.flush(); err != nil {
		return err
	}
	req.From, req.Limit = page.Head, 0
	err = a.Follow(ctx, req, func(e audit.Event) error {
		if err := w.write(e); err != nil {
			return err
		}
		return w.flush()
	})
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		err = nil // interrupted: the normal end of a follow
	}
	return errors.Join(err, w.close())
}

// eventWriter writes events as a stream: JSON lines, CSV rows after a
// header, or text (a table, or with lines set, one line per event, for
// follow mode, where rows cannot wait to be aligned).
type eventWriter interface {
	write(audit.Event) error
	flush() error
	close() error
}

func (c *cli) eventWriter(o outputFlags, lines bool) eventWriter {
	switch {
	case o.json:
		return &jsonLines{enc: json.NewEncoder(c.stdout), out: c.stdout}
	case o.csv:
		w := &csvEvents{w: csv.NewWriter(c.stdout), out: c.stdout}
		writeCSV(w.w, eventsTable("", "", nil), true)
		return w
	case lines:
		return &textLines{out: c.stdout}
	}
	return &textEvents{tw: newTabWriter(c.stdout), out: c.stdout}
}

type jsonLines struct {
	enc *json.Encoder
	out io.Writer
}

func (j *jsonLines) write(e audit.Event) error { return j.enc.Encode(e) }
func (j *jsonLines) flush() error              { return flush(j.out) }
func (j *jsonLines) close() error              { return nil }

type csvEvents struct {
	w   *csv.Writer
	out io.Writer
}

func (c *csvEvents) write(e audit.Event) error {
	writeCSV(c.w, table{rows: [][]any{eventRow(e)}}, false)
	return c.w.Error()
}

func (c *csvEvents) flush() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return flush(c.out)
}

func (c *csvEvents) close() error {
	c.w.Flush()
	return c.w.Error()
}

// textEvents is the events table of writeText, streamed.
type textEvents struct {
	tw   *tabwriter.Writer
	out  io.Writer
	rows int
}

func (t *textEvents) write(e audit.Event) error {
	cols := eventsTable("", "", nil).cols
	if t.rows == 0 {
		var head []string
		for _, c := range cols {
			if !c.csvOnly {
				head = append(head, textHeader(c.name))
			}
		}
		fmt.Fprintln(t.tw, "  "+strings.Join(head, "\t"))
	}
	t.rows++
	var cells []string
	for i, v := range eventRow(e) {
		if !cols[i].csvOnly {
			cells = append(cells, textCell(v))
		}
	}
	_, err := fmt.Fprintln(t.tw, strings.TrimRight("  "+strings.Join(cells, "\t"), " "))
	return err
}

func (t *textEvents) flush() error { return nil }

func (t *textEvents) close() error {
	if t.rows == 0 {
		fmt.Fprintln(t.out, "  (none)")
	}
	return t.tw.Flush()
}

// textLines prints one line per event, in fixed-width columns.
type textLines struct{ out io.Writer }

func (t *textLines) write(e audit.Event) error {
	line := fmt.Sprintf("%s  %-7s  %-20s  %-10s  %s", textCell(e.Time), e.Level, cut(clean(e.Type), 20), cut(clean(e.UserID), 10), textCell(e.Message))
	d, _ := analysis.Duration(&e) // measured, else the ms param
	if d := textDuration(d); d != "" {
		line += "  (" + d + ")"
	}
	if p := textCell(params(e.Params)); p != "" {
		line += "  " + p
	}
	_, err := fmt.Fprintln(t.out, line)
	return err
}

func (t *textLines) flush() error { return flush(t.out) }
func (t *textLines) close() error { return nil }
