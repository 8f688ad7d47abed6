package audit_test

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/auditkit/audit"
)

var eventOpts = cmpopts.EquateComparable(audit.Value{})

func roundTrip(t *testing.T, e audit.Event) string {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatalf("Marshal(%+v): %v", e, err)
	}
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	var got audit.Event
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("Unmarshal(%s): %v", b, err)
	}
	if diff := cmp.Diff(e, got, eventOpts); diff != "" {
		t.Errorf("round trip of %s (-want +got):\n%s", b, diff)
	}
	return string(b)
}

func TestEventJSONShape(t *testing.T) {
	e := audit.Event{
		ID:        uuid.MustParse("0190a5e4-0000-7000-8000-000000000001"),
		Time:      time.Date(2026, 3, 4, 5, 6, 7, 120000000, time.UTC),
		Level:     audit.LevelAudit,
		Type:      "query-start",
		Message:   "ran a query",
		UserID:    "alice",
		SessionID: "s1",
		Params: []audit.Param{
			audit.P("query", audit.Ref("query", "q1")), audit.P("rows", 42), audit.P("ratio", 0.5),
			audit.P("ok", true), audit.P("none", nil),
		},
		Duration:    1500 * time.Microsecond,
		StackTrace:  "main.f()",
		Fingerprint: "abc",
	}
	got := roundTrip(t, e)
	want := `{"id":"0190a5e4-0000-7000-8000-000000000001","time":"2026-03-04T05:06:07.120000Z","level":"audit",` +
		`"type":"query-start","message":"ran a query","user_id":"alice","session_id":"s1",` +
		`"params":{"query":{"kind":"query","id":"q1"},"rows":42,"ratio":0.5,"ok":true,"none":null},` +
		`"duration_ms":1.5,"stack_trace":"main.f()","fingerprint":"abc","kinds":{"query":"entity_id"}}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	// A pointer marshals the same.
	if b, _ := json.Marshal(&e); string(b) != want {
		t.Errorf("*Event: %s", b)
	}
}

func TestEventJSONRoundTrip(t *testing.T) {
	id := uuid.MustParse("0190a5e4-0000-7000-8000-0000000000ff")
	at := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC)
	many := make([]audit.Param, 40)
	for i := range many {
		many[i] = audit.P(fmt.Sprintf("k%02d", i), i)
	}
	for name, e := range map[string]audit.Event{
		"minimal":    {ID: id, Time: at, Level: audit.LevelDebug},
		"year 10000": {ID: id, Time: time.Date(10000, 2, 29, 0, 0, 0, 1000, time.UTC), Level: audit.LevelInfo},
		"year -44":   {ID: id, Time: time.Date(-44, 3, 15, 12, 0, 0, 0, time.UTC), Level: audit.LevelInfo},
		"year 0":     {ID: id, Time: time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), Level: audit.LevelInfo},
		"not text": {ID: id, Time: at, Level: audit.LevelError, Type: "t\x00", Message: "bad \xff byte\u2028",
			UserID: "\xfe", SessionID: "s\x00", StackTrace: "\x00", Fingerprint: "\xff"},
		"kinds": {ID: id, Time: at, Level: audit.LevelUsage, Params: []audit.Param{
			audit.P("float1", 1.0), audit.P("big", uint64(math.MaxUint64)), audit.P("min", int64(math.MinInt64)),
			audit.P("nan", math.NaN()), audit.P("inf", math.Inf(-1)), audit.P("tiny", 5e-324),
			audit.P("when", time.Date(2020, 1, 1, 0, 0, 0, 5, time.UTC)), audit.P("took", 3*time.Second),
			{Key: "json", Value: audit.JSONValue([]byte(`{"a": [1, 2]}`))}, {Key: "scalar", Value: audit.JSONValue([]byte(`7`))},
			{Key: "badjson", Value: audit.JSONValue([]byte(`"\xff"`))},
			audit.P("ref", audit.Ref("", "no-kind")), audit.P("badref", audit.Ref("k\xff", "\x00")),
			audit.P("str", "1"), audit.P("s\xff", "bad key"), audit.P("s\ufffd", "its text form"),
			audit.P("a/b~c", "\xff"),
		}},
		"many params": {ID: id, Time: at, Level: audit.LevelAudit, Params: many},
		"durations":   {ID: id, Time: at, Level: audit.LevelAudit, Duration: time.Duration(math.MaxInt64)},
		"negative":    {ID: id, Time: at, Level: audit.LevelAudit, Duration: -7},
		"odd ns":      {ID: id, Time: at, Level: audit.LevelAudit, Duration: 123456789123},
	} {
		t.Run(name, func(t *testing.T) { roundTrip(t, e) })
	}
}

func TestEventJSONErrors(t *testing.T) {
	if _, err := json.Marshal(audit.Event{Level: 0}); err == nil || !strings.Contains(err.Error(), "invalid level") {
		t.Errorf("invalid level: %v", err)
	}
	for _, in := range []string{
		`{}`,
		`{"id":"x","time":"2026-01-01T00:00:00Z","level":"info"}`,
		`{"id":"0190a5e4-0000-7000-8000-000000000001","time":"yesterday","level":"info"}`,
		`{"id":"0190a5e4-0000-7000-8000-000000000001","time":"2026-01-01T00:00:00Z","level":"loud"}`,
		`{"id":"0190a5e4-0000-7000-8000-000000000001","time":"2026-01-01T00:00:00Z","level":"info","params":[1]}`,
		`{"id":"0190a5e4-0000-7000-8000-000000000001","time":"2026-01-01T00:00:00Z","level":"info","params":{"a":1,"a":2}}`,
		`{"id":"0190a5e4-0000-7000-8000-000000000001","time":"2026-01-01T00:00:00Z","level":"info","kinds":{"a":"int64"}}`,
		`{"id":"0190a5e4-0000-7000-8000-000000000001","time":"2026-01-01T00:00:00Z","level":"info","params":{"a":"x"},"kinds":{"a":"int64"}}`,
		`{"id":"0190a5e4-0000-7000-8000-000000000001","time":"2026-01-01T00:00:00Z","level":"info","raw":{"/message":"!!"}}`,
		`{"id":"0190a5e4-0000-7000-8000-000000000001","time":"2026-01-01T00:00:00Z","level":"info","duration_ms":1e300}`,
		`{"id":"0190a5e4-0000-7000-8000-000000000001","time":"+1-01-01T00:00:00Z","level":"info"}`,
	} {
		var e audit.Event
		if err := json.Unmarshal([]byte(in), &e); err == nil {
			t.Errorf("Unmarshal(%s) = %+v, want an error", in, e)
		}
	}
}

// FuzzEventJSON round-trips events built from arbitrary strings and
// numbers.
func FuzzEventJSON(f *testing.F) {
	f.Add("query-start", "msg", "alice", "key", "value", int64(42), 1.5, int64(1700000000000000), int64(1500))
	f.Add("t\x00", "\xff", "", "k\xff", "\u2028", int64(-1), math.NaN(), int64(-62135596800000000), int64(0))
	f.Fuzz(func(t *testing.T, typ, msg, user, key, val string, n int64, x float64, us, dur int64) {
		e := audit.Event{
			ID: uuid.New(), Time: time.UnixMicro(us).UTC(), Level: audit.Level(1 + uint64(n)%6),
			Type: typ, Message: msg, UserID: user, SessionID: val, StackTrace: msg, Fingerprint: key,
			Duration: time.Duration(dur),
			Params: []audit.Param{
				audit.P(key, val), audit.P(key+"1", n), audit.P(key+"2", x), audit.P(key+"3", audit.Ref(val, key)),
				{Key: key + "4", Value: audit.JSONValue([]byte(val))},
			},
		}
		roundTrip(t, e)
	})
}

func ExampleEvent_MarshalJSON() {
	e := audit.Event{
		ID:      uuid.MustParse("0190a5e4-0000-7000-8000-000000000001"),
		Time:    time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC),
		Level:   audit.LevelUsage,
		Type:    "main-menu-item-click",
		Message: "menu item clicked",
		UserID:  "alice",
		Params:  []audit.Param{audit.P("item", "File | Open"), audit.P("ms", 12)},
	}
	b, _ := json.Marshal(e)
	fmt.Println(string(b))
	// Output:
	// {"id":"0190a5e4-0000-7000-8000-000000000001","time":"2026-03-04T05:06:07.000000Z","level":"usage","type":"main-menu-item-click","message":"menu item clicked","user_id":"alice","params":{"item":"File | Open","ms":12}}
}

// jsonTwin is what encoding/json writes for an event of the same shape:
// the anchor of BenchmarkEventJSON.
type jsonTwin struct {
	ID          uuid.UUID      `json:"id"`
	Time        time.Time      `json:"time"`
	Level       string         `json:"level"`
	Type        string         `json:"type"`
	Message     string         `json:"message"`
	UserID      string         `json:"user_id,omitempty"`
	SessionID   string         `json:"session_id,omitempty"`
	Params      map[string]any `json:"params,omitempty"`
	DurationMS  float64        `json:"duration_ms,omitempty"`
	StackTrace  string         `json:"stack_trace,omitempty"`
	Fingerprint string         `json:"fingerprint,omitempty"`
}

func BenchmarkEventJSON(b *testing.B) {
	e := audit.Event{
		ID: uuid.New(), Time: time.Now().UTC().Truncate(time.Microsecond), Level: audit.LevelAudit,
		Type: "query-start", Message: "ran a query", UserID: "alice", SessionID: "s-1",
		Params: []audit.Param{
			audit.P("query", audit.Ref("query", "q-42")), audit.P("rows", 1200), audit.P("source", "postgres"),
			audit.P("cached", false), audit.P("ratio", 0.25),
		},
		Duration: 1500 * time.Microsecond,
	}
	twin := jsonTwin{ID: e.ID, Time: e.Time, Level: "audit", Type: e.Type, Message: e.Message, UserID: e.UserID,
		SessionID: e.SessionID, DurationMS: 1.5, Params: map[string]any{
			"query": map[string]string{"kind": "query", "id": "q-42"}, "rows": 1200, "source": "postgres", "cached": false, "ratio": 0.25,
		}}
	b.Run("marshal/event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := e.MarshalJSON(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("marshal/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(&twin); err != nil {
				b.Fatal(err)
			}
		}
	})
	data, _ := e.MarshalJSON()
	twinData, _ := json.Marshal(&twin)
	b.Run("unmarshal/event", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var got audit.Event
			if err := got.UnmarshalJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal/encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var got jsonTwin
			if err := json.Unmarshal(twinData, &got); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// FuzzEventUnmarshal reads arbitrary bytes: an error or an event, never a
// panic; an event that reads writes back to JSON that reads as the same.
func FuzzEventUnmarshal(f *testing.F) {
	f.Add([]byte(`{"id":"0190a5e4-0000-7000-8000-000000000001","time":"2026-03-04T05:06:07.120000Z","level":"audit","params":{"q":{"kind":"query","id":"q1"},"n":1},"kinds":{"q":"entity_id"},"duration_ms":1.5}`))
	f.Add([]byte(`{"id":"0190a5e4-0000-7000-8000-000000000001","time":"+010000-01-01T00:00:00Z","level":"info","raw":{"/message":"/w=="},"message":"\ufffd"}`))
	f.Add([]byte(`{"id" : "0190a5e4-0000-7000-8000-000000000001" , "time":"2026-01-01T00:00:00Z","level":"info","params":{ "a" : [1,{"b":"}"}] , "c\"d":null }}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var e audit.Event
		if err := e.UnmarshalJSON(b); err != nil {
			return
		}
		if !e.Level.Valid() {
			t.Fatalf("read an invalid level from %s", b)
		}
		out, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("%s read as %+v, which does not write: %v", b, e, err)
		}
		var back audit.Event
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("%s does not read back: %v", out, err)
		}
		if diff := cmp.Diff(e, back, eventOpts); diff != "" {
			t.Errorf("%s -> %s (-first +second):\n%s", b, out, diff)
		}
	})
}
