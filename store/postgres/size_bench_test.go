package postgres

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/internal/pgtest"
	"github.com/auditkit/audit/store/storetest"
)

// BenchmarkTableSize writes AUDIT_SIZE_EVENTS events (default 1,000,000;
// run it with -benchtime=1x) of the [storetest.BenchEvents] shape spread
// over 30 days, one in 20 an error with a 3 kB stack trace, and reports the
// bytes per event of each table: heap and TOAST (-data-B/event) and
// indexes (-index-B/event), summed over partitions.
func BenchmarkTableSize(b *testing.B) {
	ctx := context.Background()
	n := 1_000_000
	if v := os.Getenv("AUDIT_SIZE_EVENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	s, err := Open(ctx, pgtest.DSN(b), Options{Schema: pgtest.Schema(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(ctx)
	start := time.Now().UTC().Add(-30 * 24 * time.Hour)
	step := 30 * 24 * time.Hour / time.Duration(n)
	trace := strings.Repeat("goroutine 1 [running]:\nmain.handler(0xc000010000)\n\t/src/app/handler.go:42 +0x1d\n", 40)
	for lo := 0; lo < n; lo += 1000 {
		events := storetest.BenchEvents(min(1000, n-lo))
		for i := range events {
			events[i].Time = start.Add(time.Duration(lo+i) * step)
			if (lo+i)%20 == 0 {
				events[i].Level, events[i].Type = audit.LevelError, "error"
				events[i].StackTrace = fmt.Sprintf("%s#%d", trace, lo+i)
				events[i].Fingerprint = fmt.Sprintf("fp-%d", (lo+i)%50)
			}
		}
		if err := s.Write(ctx, events); err != nil {
			b.Fatal(err)
		}
	}
	var total float64
	for _, t := range []string{"events", "event_parameter_values"} {
		var data, index int64
		q := `SELECT coalesce(sum(pg_table_size(relid)), 0), coalesce(sum(pg_indexes_size(relid)), 0)
			FROM (SELECT relid FROM pg_partition_tree(to_regclass($1)) UNION SELECT to_regclass($1)) t`
		if err := s.DB().QueryRowContext(ctx, "VACUUM ANALYZE "+s.d.Table(t)); err != nil && err.Err() != nil {
			b.Fatal(err.Err())
		}
		if err := s.DB().QueryRowContext(ctx, q, s.d.Table(t)).Scan(&data, &index); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(data)/float64(n), t+"-data-B/event")
		b.ReportMetric(float64(index)/float64(n), t+"-index-B/event")
		total += float64(data+index) / float64(n)
	}
	b.ReportMetric(total, "total-B/event")
}
