package audit

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestDropSummary checks that drops are reported the first at once, then
// together once per interval, then the rest at close, with counts that add
// up.
func TestDropSummary(t *testing.T) {
	var mu sync.Mutex
	var reports []*DropReport
	got := make(chan struct{}, 10)
	d := newDropSummary("sink", 30*time.Millisecond, func(err error) {
		var r *DropReport
		if !errors.As(err, &r) || !errors.Is(err, ErrQueueFull) {
			t.Errorf("reported %T %v, want a DropReport wrapping ErrQueueFull", err, err)
			return
		}
		mu.Lock()
		reports = append(reports, r)
		mu.Unlock()
		got <- struct{}{}
	})
	for range 5 {
		d.add(ErrQueueFull)
	}
	<-got // the first drop, at once
	<-got // the next four, after the interval
	d.add(ErrQueueFull)
	d.add(ErrQueueFull)
	d.close() // the last two
	mu.Lock()
	defer mu.Unlock()
	var counts []uint64
	for _, r := range reports {
		counts = append(counts, r.Dropped)
	}
	if len(counts) != 3 || counts[0] != 1 || counts[1] != 4 || counts[2] != 2 {
		t.Fatalf("reports dropped %v, want [1 4 2]", counts)
	}
	if last := reports[2]; last.Total != 7 || last.Destination != "sink" || last.First.After(last.Last) {
		t.Errorf("last report %+v", last)
	}
}
