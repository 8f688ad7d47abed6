package audit_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/store/sqlite"
)

// switchStore is a store that is down until up is set.
type switchStore struct {
	audit.Store
	up atomic.Bool
}

func (s *switchStore) Write(ctx context.Context, evs []audit.Event) error {
	if !s.up.Load() {
		return audit.ErrUnavailable
	}
	return s.Store.Write(ctx, evs)
}

// BenchmarkOutage logs b.N events at a steady 10,000 events/s from 4
// goroutines into a SQLite store that is down the whole time, then brings
// the store up and waits until everything is stored. It reports the
// latency of the logging calls (p50, p99, max), the calls refused, and the
// process's peak RSS; with the spool every event must be stored. The
// memory variant (no spool) shows what the outage costs without one: its
// calls wait for room and fall behind, so it logs fewer events.
//
//	go test -run '^$' -bench BenchmarkOutage -benchtime 300000x . # a 30 s outage
func BenchmarkOutage(b *testing.B) {
	for _, name := range []string{"spool", "memory"} {
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			db, err := sqlite.Open(context.Background(), filepath.Join(dir, "audit.db"), sqlite.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close(context.Background())
			store := &switchStore{Store: db}
			opts := audit.Options{Store: store, RetryMax: 200 * time.Millisecond, ErrorHandler: func(error) {}}
			if name == "spool" {
				opts.Spool = &audit.SpoolOptions{Dir: filepath.Join(dir, "spool")}
			}
			l, err := audit.New(opts)
			if err != nil {
				b.Fatal(err)
			}
			const goroutines = 4
			const every = goroutines * 100 * time.Microsecond // 10,000 events/s in all
			lat := make([][]time.Duration, goroutines)
			var refused atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for g := range goroutines {
				wg.Add(1)
				go func() {
					defer wg.Done()
					n := max(b.N/goroutines, 1)
					lat[g] = make([]time.Duration, 0, n)
					outage := time.Duration(n) * every
					for i := range n {
						if d := time.Until(start.Add(time.Duration(i) * every)); d > 0 {
							time.Sleep(d)
						}
						if time.Since(start) > outage+time.Second {
							return // calls that wait for room fall behind: the outage is over
						}
						t0 := time.Now()
						if err := l.Usage("outage", map[string]any{"g": g, "i": i}); err != nil {
							refused.Add(1)
						}
						lat[g] = append(lat[g], time.Since(t0))
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			store.up.Store(true)
			if err := l.Close(context.Background()); err != nil {
				b.Fatal(err)
			}
			all := slices.Concat(lat...)
			slices.Sort(all)
			q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) }
			b.ReportMetric(q(0.5), "p50-µs")
			b.ReportMetric(q(0.99), "p99-µs")
			b.ReportMetric(q(1), "max-µs")
			b.ReportMetric(float64(refused.Load()), "refused")
			b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
			st := l.Stats()
			if name == "spool" && (refused.Load() != 0 || st.Written != uint64(len(all))) {
				b.Errorf("with the spool: %d refused, stats %+v, want all %d written", refused.Load(), st, len(all))
			}
		})
	}
}

// peakRSSMB returns the process's peak resident set (VmHWM), in MiB.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
