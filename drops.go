package audit

import (
	"fmt"
	"sync"
	"time"
)

// DropReport summarizes the events one destination lost because its queue
// was full. The Logger passes it to Options.ErrorHandler instead of one
// error per event: the first drop is reported at once, later ones are
// counted and reported together at most once per
// Options.DropReportInterval, and what is left is reported at Close. It
// wraps the last drop's cause, so errors.Is(err, [ErrQueueFull]) holds.
type DropReport struct {
	// Destination is "store" or the sink's name (see [SinkStats]).
	Destination string
	// Dropped counts the events lost since the previous report.
	Dropped uint64
	// Total counts the events this destination lost since New.
	Total uint64
	// First and Last are the times of the first and last of these drops.
	First, Last time.Time
	// Err is the last drop's cause.
	Err error
}

// Error implements error.
func (r *DropReport) Error() string {
	return fmt.Sprintf("audit: %s dropped %d events between %s and %s (%d in all): %v",
		r.Destination, r.Dropped, r.First.Format(time.RFC3339Nano), r.Last.Format(time.RFC3339Nano), r.Total, r.Err)
}

// Unwrap returns the last drop's cause.
func (r *DropReport) Unwrap() error { return r.Err }

// dropSummary counts one destination's drops and reports them as
// DropReports, at most one per interval.
type dropSummary struct {
	dest   string
	every  time.Duration
	report func(error)

	mu       sync.Mutex
	pending  DropReport
	total    uint64
	reported time.Time   // when the last report was made; zero before the first
	timer    *time.Timer // the scheduled report, nil when none
	fired    sync.WaitGroup
}

func newDropSummary(dest string, every time.Duration, report func(error)) *dropSummary {
	return &dropSummary{dest: dest, every: every, report: report}
}

// add counts one drop caused by err, and reports at once when no report was
// made within the interval, or schedules one.
func (d *dropSummary) add(err error) {
	now := time.Now()
	d.mu.Lock()
	d.total++
	if d.pending.Dropped == 0 {
		d.pending.First = now
	}
	d.pending.Dropped++
	d.pending.Last = now
	d.pending.Err = err
	if d.timer != nil {
		d.mu.Unlock()
		return
	}
	if d.reported.IsZero() || now.Sub(d.reported) >= d.every {
		r := d.takeLocked(now)
		d.mu.Unlock()
		d.report(r)
		return
	}
	d.fired.Add(1)
	d.timer = time.AfterFunc(d.reported.Add(d.every).Sub(now), d.fire)
	d.mu.Unlock()
}

func (d *dropSummary) fire() {
	defer d.fired.Done()
	d.mu.Lock()
	d.timer = nil
	r := d.takeLocked(time.Now())
	d.mu.Unlock()
	if r != nil {
		d.report(r)
	}
}

// takeLocked returns the pending report, or nil when nothing was dropped
// since the last one, and starts a new interval.
func (d *dropSummary) takeLocked(now time.Time) *DropReport {
	if d.pending.Dropped == 0 {
		return nil
	}
	r := d.pending
	r.Destination, r.Total = d.dest, d.total
	d.pending = DropReport{}
	d.reported = now
	return &r
}

// close reports what is pending now and waits for a scheduled report that
// is already running.
func (d *dropSummary) close() {
	d.mu.Lock()
	if d.timer != nil && d.timer.Stop() {
		d.timer = nil
		d.fired.Done()
	}
	r := d.takeLocked(time.Now())
	d.mu.Unlock()
	d.fired.Wait()
	if r != nil {
		d.report(r)
	}
}
