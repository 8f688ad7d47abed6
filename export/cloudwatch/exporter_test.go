package cloudwatch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
	"github.com/auditkit/audit/export/cloudwatch"
	"github.com/auditkit/audit/export/cloudwatch/cloudwatchtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// env is an exporter wired to a local server, both on the clock `now`.
type env struct {
	srv *cloudwatchtest.Server
	x   *cloudwatch.Exporter

	mu     sync.Mutex
	losses []*cloudwatch.EventsError
}

func newEnv(t *testing.T, srvOpts cloudwatchtest.Options, mutate func(*cloudwatch.Options)) *env {
	t.Helper()
	if srvOpts.Now == nil {
		srvOpts.Now = func() time.Time { return now }
	}
	e := &env{srv: cloudwatchtest.NewServer(srvOpts)}
	t.Cleanup(e.srv.Close)
	opts := cloudwatch.Options{
		Blocks:   []cloudwatch.Block{{LogGroup: "/app/audit"}},
		Client:   e.srv.Client(),
		RetryMin: time.Millisecond,
		RetryMax: 5 * time.Millisecond,
		Now:      func() time.Time { return now },
		OnError: func(err error) {
			var ee *cloudwatch.EventsError
			if !errors.As(err, &ee) {
				t.Errorf("OnError got %T %v, want *EventsError", err, err)
				return
			}
			e.mu.Lock()
			e.losses = append(e.losses, ee)
			e.mu.Unlock()
		},
	}
	if mutate != nil {
		mutate(&opts)
	}
	x, err := cloudwatch.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		x.Close(ctx)
	})
	e.x = x
	return e
}

func (e *env) lost() []*cloudwatch.EventsError {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*cloudwatch.EventsError(nil), e.losses...)
}

func event(t time.Time, level audit.Level, typ, msg string, params ...audit.Param) audit.Event {
	return audit.Event{ID: uuid.Must(uuid.NewV7()), Time: t, Level: level, Type: typ, Message: msg, Params: params}
}

func events(n int, t time.Time, msg string) []audit.Event {
	out := make([]audit.Event, n)
	for i := range out {
		out[i] = event(t, audit.LevelAudit, audit.TypeLog, fmt.Sprintf("%s %d", msg, i))
	}
	return out
}

// ids returns the event IDs of stored JSON messages, failing on a message
// that is not a JSON object with an id.
func ids(t *testing.T, stored []cloudwatchtest.Event) []string {
	t.Helper()
	var out []string
	for _, s := range stored {
		var m struct{ ID string }
		if err := json.Unmarshal([]byte(s.Message), &m); err != nil || m.ID == "" {
			t.Fatalf("stored message %.80q is not a JSON object with an id: %v", s.Message, err)
		}
		out = append(out, m.ID)
	}
	return out
}

func TestBlocksRouteEvents(t *testing.T) {
	e := newEnv(t, cloudwatchtest.Options{}, func(o *cloudwatch.Options) {
		o.Blocks = []cloudwatch.Block{
			{Disabled: true, LogGroup: "/disabled"},
			{LogGroup: "/app/errors", Levels: []audit.Level{audit.LevelError}, DefaultStream: "app_errors"},
			{LogGroup: "/app/queries", Types: []string{datagrok.QueryStart, datagrok.QueryCreated}, Streams: map[string]string{datagrok.QueryStart: "starts"}},
			{LogGroup: "/app/audit", Levels: []audit.Level{audit.LevelAudit, audit.LevelUsage},
				Streams: map[string]string{audit.TypeLog: "app_log", audit.TypeUsage: "app_usage"}},
		}
	})
	batch := []audit.Event{
		event(now, audit.LevelError, audit.TypeError, "boom"),
		event(now, audit.LevelAudit, datagrok.QueryStart, "q1"),
		event(now, audit.LevelAudit, datagrok.QueryCreated, "q2"),
		event(now, audit.LevelAudit, audit.TypeLog, "logged"),
		event(now, audit.LevelUsage, audit.TypeUsage, "used"),
		event(now, audit.LevelAudit, datagrok.ProjectOpened, "opened"),
		event(now, audit.LevelDebug, audit.TypeLog, "not exported"),
	}
	if err := e.x.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	want := map[[2]string]string{
		{"/app/errors", "app_errors"}: batch[0].ID.String(),
		{"/app/queries", "starts"}:    batch[1].ID.String(),
		{"/app/queries", "audit"}:     batch[2].ID.String(),
		{"/app/audit", "app_log"}:     batch[3].ID.String(),
		{"/app/audit", "app_usage"}:   batch[4].ID.String(),
		{"/app/audit", "audit"}:       batch[5].ID.String(),
	}
	for gs, id := range want {
		got := ids(t, e.srv.Events(gs[0], gs[1]))
		if len(got) != 1 || got[0] != id {
			t.Errorf("%s/%s holds %v, want [%s]", gs[0], gs[1], got, id)
		}
	}
	if got := e.srv.Streams("/disabled"); got != nil {
		t.Errorf("the disabled block exported to %v", got)
	}
	if st := e.x.Stats(); st.Unmatched != 1 || st.Events != 6 || st.GroupsCreated != 3 || st.StreamsCreated != 6 {
		t.Errorf("stats = %+v", st)
	}
}

func TestJSONFormat(t *testing.T) {
	e := newEnv(t, cloudwatchtest.Options{}, func(o *cloudwatch.Options) {
		o.Blocks[0].Params = cloudwatch.OnlyParams("q", "bad", "obj")
	})
	ev := event(now, audit.LevelError, audit.TypeError, "bad \xff byte and \x00 nul",
		audit.P("q", "select <1>"), audit.P("secret", "hidden"), audit.P("bad", "x\xfey"),
		audit.P("obj", audit.Ref("query", "q-1")))
	ev.UserID, ev.SessionID, ev.Duration, ev.StackTrace = "u1", "s1", 1500*time.Microsecond, "main.f()\n\tmain.go:1"
	if err := e.x.Send(context.Background(), []audit.Event{ev}); err != nil {
		t.Fatal(err)
	}
	stored := e.srv.Events("/app/audit", "audit")
	if len(stored) != 1 {
		t.Fatalf("stored %d", len(stored))
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stored[0].Message), &got); err != nil {
		t.Fatalf("%q: %v", stored[0].Message, err)
	}
	want := map[string]any{
		"id": ev.ID.String(), "time": "2025-06-01T12:00:00.000000Z", "level": "error", "type": "error",
		"message": "bad \ufffd byte and \u2400 nul", "user_id": "u1", "session_id": "s1", "duration_ms": 1.5,
		"params":      map[string]any{"q": "select <1>", "bad": "x\ufffdy", "obj": map[string]any{"kind": "query", "id": "q-1"}},
		"stack_trace": "main.f()\n\tmain.go:1",
		"kinds":       map[string]any{"obj": "entity_id"},
		"raw":         map[string]any{"/message": "YmFkIP8gYnl0ZSBhbmQgACBudWw=", "/params/bad": "eP55"},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got  %v\nwant %v", got, want)
	}
	// The message is the event's one JSON shape: it reads back exactly,
	// without the params the block leaves out.
	var back audit.Event
	if err := back.UnmarshalJSON([]byte(stored[0].Message)); err != nil {
		t.Fatal(err)
	}
	if back.Message != ev.Message || len(back.Params) != 3 || back.UserID != "u1" {
		t.Errorf("read back %+v", back)
	}
	if !strings.HasPrefix(stored[0].Message, `{"id":"`+ev.ID.String()) {
		t.Errorf("the id is not first: %s", stored[0].Message)
	}
	if !stored[0].Time.Equal(now) {
		t.Errorf("timestamp %v, want %v", stored[0].Time, now)
	}
}

func TestTextFormat(t *testing.T) {
	e := newEnv(t, cloudwatchtest.Options{}, func(o *cloudwatch.Options) {
		o.Blocks[0].Format = cloudwatch.FormatText
		o.Blocks[0].Params = cloudwatch.NoParams()
	})
	ev := event(now.Add(123456*time.Microsecond), audit.LevelAudit, datagrok.QueryStart, "line one\nline\u2028two \"q\"", audit.P("k", "v"))
	ev.UserID = "alice"
	if err := e.x.Send(context.Background(), []audit.Event{ev}); err != nil {
		t.Fatal(err)
	}
	stored := e.srv.Events("/app/audit", "audit")
	want := "[" + ev.ID.String() + `] time=2025-06-01T12:00:00.123456Z level=audit type=query-start user_id=alice msg="line one\nline\u2028two \"q\""`
	if len(stored) != 1 || stored[0].Message != want {
		t.Fatalf("got  %q\nwant %q", stored, want)
	}
}

func TestConcurrentSendsKeepOrder(t *testing.T) {
	e := newEnv(t, cloudwatchtest.Options{}, nil)
	var wg sync.WaitGroup
	const goroutines, perSend = 8, 500
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := events(perSend, now, fmt.Sprintf("g%d", g))
			for i := range batch { // times out of order, as from many goroutines
				batch[i].Time = now.Add(-time.Duration(rand.IntN(3600_000)) * time.Millisecond)
			}
			if err := e.x.Send(context.Background(), batch); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	// The server refuses a request out of order, so delivery proves the order.
	if got := len(e.srv.Events("/app/audit", "audit")); got != goroutines*perSend {
		t.Fatalf("stored %d, want %d (losses %v)", got, goroutines*perSend, e.lost())
	}
}

func TestRequestsStayWithinLimits(t *testing.T) {
	t.Run("events", func(t *testing.T) {
		e := newEnv(t, cloudwatchtest.Options{}, nil)
		// Our messages are over 78 bytes, so 1 MiB binds before 10,000
		// events; the requests are full up to one event.
		if err := e.x.Send(context.Background(), events(25000, now, "e")); err != nil {
			t.Fatal(err)
		}
		puts := e.srv.Puts()
		total := 0
		for i, p := range puts {
			total += p.Events
			if p.Events > cloudwatch.MaxBatchEvents || p.Bytes > cloudwatch.MaxRequestBytes ||
				(i < len(puts)-1 && p.Bytes < cloudwatch.MaxRequestBytes-200) {
				t.Errorf("request %d: %d events, %d bytes", i, p.Events, p.Bytes)
			}
		}
		if total != 25000 {
			t.Fatalf("%d events delivered", total)
		}
	})
	t.Run("batch size", func(t *testing.T) {
		e := newEnv(t, cloudwatchtest.Options{}, func(o *cloudwatch.Options) { o.Blocks[0].BatchSize = 100 })
		if err := e.x.Send(context.Background(), events(250, now, "e")); err != nil {
			t.Fatal(err)
		}
		if puts := e.srv.Puts(); len(puts) != 3 || puts[0].Events != 100 {
			t.Fatalf("puts = %+v", puts)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		e := newEnv(t, cloudwatchtest.Options{}, nil)
		// 40 events of ~100 KB of 3-byte characters: counted in bytes, not characters.
		batch := events(40, now, strings.Repeat("€", 33000))
		if err := e.x.Send(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, p := range e.srv.Puts() {
			if p.Bytes > cloudwatch.MaxRequestBytes {
				t.Errorf("request of %d bytes", p.Bytes)
			}
			total += p.Events
		}
		if total != 40 || len(e.srv.Puts()) != 4 {
			t.Fatalf("%d events in %d requests", total, len(e.srv.Puts()))
		}
	})
	t.Run("span", func(t *testing.T) {
		e := newEnv(t, cloudwatchtest.Options{}, nil)
		batch := events(10, now, "e")
		for i := range batch { // 10 events over 4.5 days, every 12 h
			batch[i].Time = now.Add(-time.Duration(i) * 12 * time.Hour)
		}
		if err := e.x.Send(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
		if got := len(e.srv.Events("/app/audit", "audit")); got != 10 {
			t.Fatalf("stored %d", got)
		}
		if n := len(e.srv.Puts()); n != 5 {
			t.Fatalf("%d requests, want 5 (two events 12 h apart per request)", n)
		}
	})
}

func TestOversizedEvents(t *testing.T) {
	msg := strings.Repeat("é", 200000) // 400,000 bytes
	t.Run("truncate", func(t *testing.T) {
		e := newEnv(t, cloudwatchtest.Options{MaxEventSize: cloudwatch.LegacyMaxEventSize}, func(o *cloudwatch.Options) {
			o.MaxEventSize = cloudwatch.LegacyMaxEventSize
			o.Blocks[0].Format = cloudwatch.FormatText
		})
		ev := event(now, audit.LevelAudit, audit.TypeLog, "x"+msg)
		if err := e.x.Send(context.Background(), []audit.Event{ev}); err != nil {
			t.Fatal(err)
		}
		stored := e.srv.Events("/app/audit", "audit")
		if len(stored) != 1 {
			t.Fatalf("stored %d", len(stored))
		}
		got := stored[0].Message
		if len(got)+26 > cloudwatch.LegacyMaxEventSize || !utf8.ValidString(got) ||
			!strings.HasPrefix(got, "["+ev.ID.String()+"]") || !strings.Contains(got, "…[truncated ") {
			t.Fatalf("%d bytes, valid UTF-8 %v, ends %q", len(got), utf8.ValidString(got), got[len(got)-40:])
		}
		if st := e.x.Stats(); st.Truncated != 1 {
			t.Fatalf("stats = %+v", st)
		}
	})
	t.Run("split", func(t *testing.T) {
		e := newEnv(t, cloudwatchtest.Options{MaxEventSize: cloudwatch.LegacyMaxEventSize}, func(o *cloudwatch.Options) {
			o.MaxEventSize = cloudwatch.LegacyMaxEventSize
			o.Oversize = cloudwatch.OversizeSplit
			o.Blocks[0].Format = cloudwatch.FormatText
		})
		before := event(now, audit.LevelAudit, audit.TypeLog, "before")
		ev := event(now, audit.LevelAudit, audit.TypeLog, "x"+msg)
		if err := e.x.Send(context.Background(), []audit.Event{before, ev}); err != nil {
			t.Fatal(err)
		}
		stored := e.srv.Events("/app/audit", "audit")
		if len(stored) != 3 {
			t.Fatalf("stored %d log events, want 1 + 2 parts", len(stored))
		}
		var joined strings.Builder
		for k, s := range stored[1:] {
			prefix := fmt.Sprintf("[%s %d/2] ", ev.ID, k+1)
			rest, ok := strings.CutPrefix(s.Message, prefix)
			if !ok || len(s.Message)+26 > cloudwatch.LegacyMaxEventSize || !utf8.ValidString(s.Message) {
				t.Fatalf("part %d: %d bytes, starts %.60q", k+1, len(s.Message), s.Message)
			}
			joined.WriteString(rest)
		}
		want := "[" + ev.ID.String() + "] time=2025-06-01T12:00:00.000000Z level=audit type=log msg=x" + msg
		if joined.String() != want {
			t.Fatalf("the parts do not join back to the message")
		}
		if st := e.x.Stats(); st.Split != 1 || st.Events != 3 {
			t.Fatalf("stats = %+v", st)
		}
	})
}

func TestEventsOutsideTheWindowAreReported(t *testing.T) {
	e := newEnv(t, cloudwatchtest.Options{}, func(o *cloudwatch.Options) {
		o.Blocks = []cloudwatch.Block{
			{LogGroup: "/short", Types: []string{"short"}, Retention: 24 * time.Hour},
			{LogGroup: "/app/audit"},
		}
	})
	old := event(now.Add(-15*24*time.Hour), audit.LevelAudit, audit.TypeLog, "old")
	future := event(now.Add(3*time.Hour), audit.LevelAudit, audit.TypeLog, "future")
	ok := event(now.Add(-13*24*time.Hour), audit.LevelAudit, audit.TypeLog, "ok")
	expired := event(now.Add(-48*time.Hour), audit.LevelAudit, "short", "expired")
	wantLost(t, e.x.Send(context.Background(), []audit.Event{old, future, ok, expired}), 3)
	if got := ids(t, e.srv.Events("/app/audit", "audit")); len(got) != 1 || got[0] != ok.ID.String() {
		t.Fatalf("stored %v", got)
	}
	want := map[error]uuid.UUID{cloudwatch.ErrTooOld: old.ID, cloudwatch.ErrTooNew: future.ID, cloudwatch.ErrExpired: expired.ID}
	lost := e.lost()
	if len(lost) != 3 {
		t.Fatalf("losses %v", lost)
	}
	for _, l := range lost {
		if l.Sent || len(l.IDs) != 1 || l.IDs[0] != want[l.Err] || !strings.Contains(l.Error(), l.IDs[0].String()) {
			t.Errorf("loss %v", l)
		}
	}
	if st := e.x.Stats(); st.TooOld != 1 || st.TooNew != 1 || st.Expired != 1 || st.Events != 1 {
		t.Errorf("stats = %+v", st)
	}
}

func TestRejectedLogEventsInfoIsAccounted(t *testing.T) {
	// The server's clock is an hour ahead of the exporter's: events the
	// exporter thinks are in the window are too old for the service.
	e := newEnv(t, cloudwatchtest.Options{Now: func() time.Time { return now.Add(time.Hour) }}, nil)
	batch := []audit.Event{
		event(now.Add(-14*24*time.Hour+30*time.Minute), audit.LevelAudit, audit.TypeLog, "too old there"),
		event(now.Add(-14*24*time.Hour+40*time.Minute), audit.LevelAudit, audit.TypeLog, "too old there too"),
		event(now, audit.LevelAudit, audit.TypeLog, "fine"),
	}
	wantLost(t, e.x.Send(context.Background(), batch), 2)
	lost := e.lost()
	if len(lost) != 1 || !lost[0].Sent || !errors.Is(lost[0], cloudwatch.ErrTooOld) || len(lost[0].IDs) != 2 ||
		lost[0].IDs[0] != batch[0].ID || lost[0].IDs[1] != batch[1].ID {
		t.Fatalf("losses %v", lost)
	}
	if st := e.x.Stats(); st.TooOld != 2 || st.Events != 1 || st.Requests != 2 { // the span splits
		t.Fatalf("stats = %+v", st)
	}
}

func TestStreamAndGroupCreation(t *testing.T) {
	t.Run("group exists, no right to create groups", func(t *testing.T) {
		e := newEnv(t, cloudwatchtest.Options{DenyCreateLogGroup: true}, nil)
		e.srv.CreateGroup("/app/audit")
		for range 2 {
			if err := e.x.Send(context.Background(), events(3, now, "e")); err != nil {
				t.Fatal(err)
			}
		}
		if n := e.srv.Calls("CreateLogGroup"); n != 0 {
			t.Errorf("%d CreateLogGroup calls", n)
		}
		if n := e.srv.Calls("CreateLogStream"); n != 1 {
			t.Errorf("%d CreateLogStream calls, want 1", n)
		}
		if n := e.srv.Calls("PutLogEvents"); n != 3 {
			t.Errorf("%d PutLogEvents calls, want 3: one refused, then one per Send", n)
		}
	})
	t.Run("group missing, no right to create it", func(t *testing.T) {
		e := newEnv(t, cloudwatchtest.Options{DenyCreateLogGroup: true}, nil)
		err := e.x.Send(context.Background(), events(3, now, "e"))
		if err == nil || audit.IsPermanent(err) || !strings.Contains(err.Error(), "AccessDenied") {
			t.Fatalf("err = %v; want a retryable error naming the refusal", err)
		}
		if st := e.x.Stats(); st.Failed != 3 {
			t.Fatalf("stats = %+v", st)
		}
	})
}

func TestTransientFailuresAreRetried(t *testing.T) {
	e := newEnv(t, cloudwatchtest.Options{}, nil)
	e.srv.CreateGroup("/app/audit")
	e.srv.Inject(cloudwatchtest.FaultThrottle, 2, "CreateLogStream")
	e.srv.Inject(cloudwatchtest.FaultThrottle, 3)
	e.srv.Inject(cloudwatchtest.FaultUnavailable, 1)
	e.srv.Inject(cloudwatchtest.FaultInternalError, 1)
	e.srv.Inject(cloudwatchtest.FaultReset, 1)
	e.srv.SetLatency(time.Millisecond)
	batch := events(100, now, "e")
	if err := e.x.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	got := ids(t, e.srv.Events("/app/audit", "audit"))
	if len(got) != 100 {
		t.Fatalf("stored %d, want each event once", len(got))
	}
	if st := e.x.Stats(); st.Throttles != 5 || st.Retries != 8 || st.Events != 100 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	e := newEnv(t, cloudwatchtest.Options{}, func(o *cloudwatch.Options) { o.MaxAttempts = 3 })
	if err := e.x.Send(context.Background(), events(1, now, "warm-up")); err != nil {
		t.Fatal(err)
	}
	e.srv.Inject(cloudwatchtest.FaultThrottle, 3)
	calls := e.srv.Calls("PutLogEvents")
	batch := append(events(5, now, "e"), event(now.Add(-15*24*time.Hour), audit.LevelAudit, audit.TypeLog, "too old"))
	err := e.x.Send(context.Background(), batch)
	if err == nil || !errors.Is(err, audit.ErrUnavailable) || audit.IsPermanent(err) || !strings.Contains(err.Error(), "ThrottlingException") {
		t.Fatalf("err = %v; want a retryable ErrUnavailable", err)
	}
	if n := e.srv.Calls("PutLogEvents") - calls; n != 3 {
		t.Fatalf("%d calls, want 3 (MaxAttempts)", n)
	}
	if st := e.x.Stats(); st.Failed != 5 || st.Throttles != 3 || st.Retries != 2 {
		t.Fatalf("stats = %+v", st)
	}
	// The Logger sends the batch again.
	if err := e.x.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if got := len(e.srv.Events("/app/audit", "audit")); got != 6 {
		t.Fatalf("stored %d, want 6", got)
	}
	if lost := e.lost(); len(lost) != 1 || e.x.Stats().TooOld != 1 || e.x.Stats().Deduplicated != 1 {
		t.Fatalf("the too-old event must be reported once, not on every resend: %v", lost)
	}
}

func TestPartialFailureIsNotResent(t *testing.T) {
	e := newEnv(t, cloudwatchtest.Options{}, func(o *cloudwatch.Options) {
		o.MaxAttempts = 2
		o.Blocks[0].BatchSize = 10
	})
	e.srv.CreateGroup("/app/audit")
	if err := e.x.Send(context.Background(), events(1, now, "warm-up")); err != nil {
		t.Fatal(err)
	}
	batch := events(30, now, "e")
	// Request 1 of 3 is accepted, request 2 is throttled past MaxAttempts.
	e.srv.Inject(cloudwatchtest.FaultNone, 1)
	e.srv.Inject(cloudwatchtest.FaultThrottle, 2)
	err := e.x.Send(context.Background(), batch)
	if err == nil {
		t.Fatal("want an error")
	}
	if err := e.x.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	got := ids(t, e.srv.Events("/app/audit", "audit"))
	if len(got) != 31 {
		t.Fatalf("stored %d, want 31: the accepted request must not be sent again", len(got))
	}
	if st := e.x.Stats(); st.Deduplicated != 10 || st.Failed != 20 {
		t.Fatalf("stats = %+v", st)
	}
}

func TestAcceptedThenDroppedIsDuplicatedWithItsID(t *testing.T) {
	e := newEnv(t, cloudwatchtest.Options{}, nil)
	e.srv.CreateGroup("/app/audit")
	if err := e.x.Send(context.Background(), events(1, now, "warm-up")); err != nil {
		t.Fatal(err)
	}
	e.srv.Inject(cloudwatchtest.FaultDropAfterAccept, 1)
	batch := events(5, now, "e")
	if err := e.x.Send(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	got := ids(t, e.srv.Events("/app/audit", "audit"))[1:]
	if len(got) != 10 {
		t.Fatalf("stored %d, want the 5 events twice (at least once)", len(got))
	}
	seen := map[string]int{}
	for _, id := range got {
		seen[id]++
	}
	for _, ev := range batch {
		if seen[ev.ID.String()] != 2 {
			t.Fatalf("event %s stored %d times", ev.ID, seen[ev.ID.String()])
		}
	}
}

func TestPoisonEventsAreIsolated(t *testing.T) {
	e := newEnv(t, cloudwatchtest.Options{}, nil)
	e.srv.RejectMessages("POISON")
	batch := events(1000, now, "e")
	poison := map[uuid.UUID]bool{}
	for _, i := range []int{3, 500, 999} {
		batch[i].Message = "POISON"
		poison[batch[i].ID] = true
	}
	wantLost(t, e.x.Send(context.Background(), batch), 3)
	if got := len(e.srv.Events("/app/audit", "audit")); got != 997 {
		t.Fatalf("stored %d, want 997", got)
	}
	lost := e.lost()
	if len(lost) != 3 {
		t.Fatalf("losses %v", lost)
	}
	for _, l := range lost {
		if !errors.Is(l, cloudwatch.ErrPoison) || !poison[l.IDs[0]] || !strings.Contains(l.Error(), "InvalidParameterException") {
			t.Errorf("loss %v", l)
		}
	}
	st := e.x.Stats()
	if st.Poison != 3 || st.Events != 997 {
		t.Fatalf("stats = %+v", st)
	}
	// Bisection costs O(poison * log n) requests, not O(n).
	if n := e.srv.Calls("PutLogEvents"); n > 60 {
		t.Fatalf("%d calls", n)
	}
}

func TestCloseWaitsForSendsInFlight(t *testing.T) {
	e := newEnv(t, cloudwatchtest.Options{}, nil)
	e.srv.CreateGroup("/app/audit")
	e.srv.SetLatency(100 * time.Millisecond)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := e.x.Send(context.Background(), events(10, now, fmt.Sprint(g))); err != nil {
				t.Error(err)
			}
		}()
	}
	waitCalls(t, e.srv, 4) // every Send is in flight
	if err := e.x.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := len(e.srv.Events("/app/audit", "audit")); got != 40 {
		t.Fatalf("stored %d, want 40", got)
	}
	err := e.x.Send(context.Background(), events(1, now, "late"))
	if !errors.Is(err, audit.ErrClosed) || !audit.IsPermanent(err) {
		t.Fatalf("Send after Close: %v", err)
	}
	if err := e.x.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// waitCalls waits until the server has received n PutLogEvents calls.
func waitCalls(t *testing.T, srv *cloudwatchtest.Server, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for srv.Calls("PutLogEvents") < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d PutLogEvents calls, want %d", srv.Calls("PutLogEvents"), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCloseDeadlineCancelsSends(t *testing.T) {
	e := newEnv(t, cloudwatchtest.Options{}, nil)
	e.srv.CreateGroup("/app/audit")
	e.srv.SetLatency(time.Hour)
	errc := make(chan error, 1)
	go func() { errc <- e.x.Send(context.Background(), events(5, now, "e")) }()
	waitCalls(t, e.srv, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.x.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Close: %v", err)
	}
	err := <-errc
	if err == nil || !strings.Contains(err.Error(), "5 of 5 log events not delivered") {
		t.Fatalf("Send: %v", err)
	}
}

func TestAWSConfigConnection(t *testing.T) {
	srv := cloudwatchtest.NewServer(cloudwatchtest.Options{})
	defer srv.Close()
	cfg := srv.Config()
	x, err := cloudwatch.New(cloudwatch.Options{Blocks: []cloudwatch.Block{{LogGroup: "g"}}, AWS: &cfg})
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close(context.Background())
	if err := x.Send(context.Background(), events(2, time.Now(), "e")); err != nil {
		t.Fatal(err)
	}
	if got := len(srv.Events("g", "audit")); got != 2 {
		t.Fatalf("stored %d", got)
	}
}

func TestOptionsAreValidated(t *testing.T) {
	client := cloudwatchtest.NewServer(cloudwatchtest.Options{})
	defer client.Close()
	c := client.Client()
	cases := []struct {
		opts  cloudwatch.Options
		field string
	}{
		{cloudwatch.Options{Client: c}, "Blocks"},
		{cloudwatch.Options{Blocks: []cloudwatch.Block{{LogGroup: "g"}}}, "blocks[0].AWS"},
		{cloudwatch.Options{Client: c, Blocks: []cloudwatch.Block{{LogGroup: "g"}, {LogGroup: "aws/x"}}}, "blocks[1].LogGroup"},
		{cloudwatch.Options{Client: c, Blocks: []cloudwatch.Block{{LogGroup: "a b"}}}, "blocks[0].LogGroup"},
		{cloudwatch.Options{Client: c, Blocks: []cloudwatch.Block{{LogGroup: "g", DefaultStream: "a:b"}}}, "blocks[0].DefaultStream"},
		{cloudwatch.Options{Client: c, Blocks: []cloudwatch.Block{{LogGroup: "g", Streams: map[string]string{"log": "a*"}}}}, "blocks[0].Streams[log]"},
		{cloudwatch.Options{Client: c, Blocks: []cloudwatch.Block{{LogGroup: "g", BatchSize: 10001}}}, "blocks[0].BatchSize"},
		{cloudwatch.Options{Client: c, Blocks: []cloudwatch.Block{{LogGroup: "g", Levels: []audit.Level{9}}}}, "blocks[0].Levels"},
		{cloudwatch.Options{Client: c, Blocks: []cloudwatch.Block{{LogGroup: "g", Format: 7}}}, "blocks[0].Format"},
		{cloudwatch.Options{Client: c, Blocks: []cloudwatch.Block{{LogGroup: "g", Retention: -1}}}, "blocks[0].Retention"},
		{cloudwatch.Options{Client: c, Blocks: []cloudwatch.Block{{LogGroup: "g"}}, MaxEventSize: 2 << 20}, "MaxEventSize"},
		{cloudwatch.Options{Client: c, Blocks: []cloudwatch.Block{{LogGroup: "g"}}, MaxAttempts: -1}, "MaxAttempts"},
	}
	for _, tc := range cases {
		_, err := cloudwatch.New(tc.opts)
		if !errors.Is(err, audit.ErrInvalidOptions) || !strings.HasPrefix(err.Error(), "cloudwatch: "+tc.field+": ") {
			t.Errorf("%s: err = %v", tc.field, err)
		}
	}
}

// wantLost checks that Send reported n events lost for good as an
// *audit.PartialError, which the Logger counts without retrying.
func wantLost(t *testing.T, err error, n int) {
	t.Helper()
	var partial *audit.PartialError
	if !errors.As(err, &partial) || partial.Lost != n {
		t.Fatalf("Send = %v, want an *audit.PartialError with %d lost", err, n)
	}
}
