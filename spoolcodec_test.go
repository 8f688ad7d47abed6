package audit

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestSpoolRecordRoundTrip(t *testing.T) {
	e := Event{
		ID: uuid.Must(uuid.NewV7()), Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		Level: LevelError, Type: "error", Message: "bad \x00 bytes \xff", StackTrace: "main.f()", Fingerprint: "abc",
		SessionID: "s", UserID: "u", Duration: -3 * time.Millisecond,
		Params: []Param{
			{Key: "a", Value: StringValue("x")}, {Key: "b", Value: Int64Value(-7)}, {Key: "c", Value: Uint64Value(math.MaxUint64)},
			{Key: "d", Value: Float64Value(math.Inf(-1))}, {Key: "e", Value: BoolValue(true)}, {Key: "f", Value: TimeValue(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))},
			{Key: "g", Value: DurationValue(time.Hour)}, {Key: "h", Value: EntityValue(Ref("query", "q1"))}, {Key: "i", Value: JSONValue([]byte(`{"k":[1,2]}`))},
			{Key: "j", Value: Value{}},
		},
	}
	route, got, err := decodeSpoolRecord(appendSpoolRecord(nil, RouteStore|RouteExport, &e), nil)
	if err != nil {
		t.Fatal(err)
	}
	if route != RouteStore|RouteExport || !reflect.DeepEqual(got, e) {
		t.Errorf("round trip:\n got %+v (route %d)\nwant %+v", got, route, e)
	}
	// Through one arena, events share blocks and stay intact as blocks fill.
	var a spoolArena
	rec := appendSpoolRecord(nil, RouteStore, &e)
	var evs []Event
	for range 2 * arenaParams {
		_, got, err := decodeSpoolRecord(rec, &a)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, got)
	}
	clear(rec)
	for i, got := range evs {
		if !reflect.DeepEqual(got, e) {
			t.Fatalf("event %d decoded through the arena:\n got %+v\nwant %+v", i, got, e)
		}
	}
	if cap(evs[0].Params) != len(evs[0].Params) {
		t.Errorf("params have room to append in place (cap %d, len %d): an append would write a neighbour's", cap(evs[0].Params), len(evs[0].Params))
	}
	old := Event{ID: e.ID, Time: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), Level: LevelDebug}
	if _, got, err := decodeSpoolRecord(appendSpoolRecord(nil, RouteStore, &old), &spoolArena{}); err != nil || !reflect.DeepEqual(got, old) {
		t.Errorf("zero-year time: %+v, %v", got, err)
	}
}

// FuzzSpoolRecord checks that no bytes make the decoder panic, and that
// whatever decodes encodes back to the same bytes.
func FuzzSpoolRecord(f *testing.F) {
	e := Event{ID: uuid.Must(uuid.NewV7()), Time: time.Now().UTC(), Level: LevelAudit, Type: "log", Message: "m",
		Params: []Param{{Key: "k", Value: StringValue("v")}}}
	f.Add(appendSpoolRecord(nil, RouteStore, &e))
	f.Add([]byte{1, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		route, e, err := decodeSpoolRecord(b, nil)
		if err != nil {
			return
		}
		if again := appendSpoolRecord(nil, route, &e); string(again) != string(b) {
			// Varints have one canonical encoding each; a non-canonical
			// input may decode, but then must decode to the same event.
			_, e2, err := decodeSpoolRecord(again, &spoolArena{})
			if err != nil || !reflect.DeepEqual(e, e2) {
				t.Fatalf("re-encoded record decodes differently: %v", err)
			}
		}
	})
}
