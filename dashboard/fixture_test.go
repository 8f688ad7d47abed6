package dashboard_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/store/sqlite"
)

// logOf returns n events of a made-up application over the two weeks
// before end, oldest first (see newLog).
func logOf(n int, end time.Time, seed uint64) []audit.Event {
	next := newLog(n, 14*24*time.Hour, end, seed)
	out := make([]audit.Event, n)
	for i := range out {
		out[i] = next(i)
	}
	return out
}

// newLog returns the generator of n events over the span before end: the
// i-th event, oldest first, for i from 0 to n-1 in turn. It has 40 users
// per 1,000 events a day (up to 1,000) in sessions, HTTP requests on a few
// routes (some failing), function calls of packages with inputs and outputs, queries
// naming objects, menu clicks and errors of a few stack fingerprints.
func newLog(n int, span time.Duration, end time.Time, seed uint64) func(i int) audit.Event {
	rng := rand.New(rand.NewPCG(seed, 7))
	step := span / time.Duration(n)
	start := end.Add(-span)
	users := min(1000, max(40, 40*n/int(span/(24*time.Hour))/1000))
	routes := []string{"GET /items/{id}", "POST /items", "GET /reports", "DELETE /items/{id}"}
	items := []string{"File | Open", "Data | Query", "Help", "View | Chart"}
	packages := map[string]string{"Sum": "math", "Forecast": "ml", "Export": "io"}
	p := audit.P
	return func(i int) audit.Event {
		u := rng.IntN(users) * rng.IntN(users) / users // the first users are busier
		at := start.Add(time.Duration(i)*step + time.Duration(rng.Int64N(int64(step))))
		e := audit.Event{
			ID: uuid.Must(uuid.NewV7()), Time: at, Level: audit.LevelAudit,
			UserID: fmt.Sprintf("user%02d", u), SessionID: fmt.Sprintf("user%02d-%d", u, i/500),
		}
		ms := time.Duration(5+rng.ExpFloat64()*40) * time.Millisecond
		switch r := rng.IntN(100); {
		case r < 40:
			status := 200
			if rng.IntN(20) == 0 {
				status = 500
			}
			route := routes[rng.IntN(len(routes))]
			e.Type, e.Level, e.Message, e.Duration = audit.TypeHTTPRequest, audit.LevelUsage, route, ms
			e.Params = []audit.Param{p("method", strings.Fields(route)[0]), p("route", route), p("status", status), p("ms", ms.Milliseconds())}
		case r < 60:
			fn := []string{"Sum", "Forecast", "Export"}[rng.IntN(3)]
			e.Type, e.Message, e.Duration = audit.TypeFunctionCall, fn, ms
			e.Params = []audit.Param{p("function", fn), p("package", packages[fn]), p("in.x", rng.IntN(100)), p("out.y", rng.IntN(1000))}
		case r < 75:
			e.Type, e.Duration = datagrok.QueryStart, ms
			e.Message = "query started"
			e.Params = []audit.Param{p("query", audit.Ref("query", fmt.Sprintf("q-%d", rng.IntN(10))))}
		case r < 92:
			e.Type, e.Level, e.Message = datagrok.MainMenuItemClick, audit.LevelUsage, "menu"
			e.Params = []audit.Param{p("item", items[rng.IntN(len(items))])}
		default:
			fp := rng.IntN(4)
			e.Type, e.Level, e.Message = audit.TypeError, audit.LevelError, fmt.Sprintf("disk failure %d", fp)
			e.Fingerprint, e.StackTrace = fmt.Sprintf("fp-%d", fp), fmt.Sprintf("goroutine 1 [running]:\nmain.save%d()\n\t/app/save.go:%d", fp, 10+fp)
		}
		return e
	}
}

// fixture returns a SQLite store in a temp dir holding the n events of
// logOf it returns.
func fixture(t testing.TB, n int, end time.Time) (*sqlite.Store, []audit.Event) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "audit.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	events := logOf(n, end, 1)
	for rest := events; len(rest) > 0; {
		k := min(len(rest), 5000)
		if err := s.Write(ctx, rest[:k]); err != nil {
			t.Fatal(err)
		}
		rest = rest[k:]
	}
	return s, events
}
