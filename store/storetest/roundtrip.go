package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/auditkit/audit"
)

func testFields(t *testing.T, s Store) {
	events := fieldEvents()
	write(t, s, events...)
	checkAll(t, s, events...)
}

func testTime(t *testing.T, s Store) {
	zone := time.FixedZone("UTC-3:30", -(3*3600 + 1800))
	times := []time.Time{
		time.Date(2024, 5, 1, 12, 34, 56, 123456789, time.UTC), // ns are cut
		time.Date(2024, 5, 1, 12, 34, 56, 999999999, zone),     // cut, not rounded
		time.Date(2024, 5, 1, 12, 34, 56, 1000, time.UTC),      // 1 µs
		time.Date(1969, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC),
		time.Now(), // with a monotonic clock reading
	}
	var events []audit.Event
	for i, tm := range times {
		e := NewEvent("time-test")
		e.Time = tm
		e.Message = fmt.Sprint(i)
		events = append(events, e)
	}
	write(t, s, events...)
	got := readAll(t, s, audit.Query{})
	byID := make(map[string]audit.Event)
	for _, e := range got {
		byID[e.ID.String()] = e
	}
	for i, e := range events {
		g, ok := byID[e.ID.String()]
		if !ok {
			t.Errorf("time %d (%v): event not read back", i, times[i])
			continue
		}
		want := times[i].UTC().Truncate(time.Microsecond)
		if !g.Time.Equal(want) || g.Time.Location() != time.UTC {
			t.Errorf("time %d: wrote %v, read %v (location %v), want %v in UTC", i, times[i], g.Time, g.Time.Location(), want)
		}
	}
	if len(got) != len(events) {
		t.Errorf("read %d events, want %d", len(got), len(events))
	}
}

func testParamKinds(t *testing.T, s Store) {
	events := kindEvents()
	write(t, s, events...)
	got := readAll(t, s, audit.Query{})
	byID := make(map[string]audit.Event)
	for _, e := range got {
		byID[e.ID.String()] = e
	}
	for _, e := range events {
		g, ok := byID[e.ID.String()]
		if !ok {
			t.Errorf("%s: event not read back", e.Message)
			continue
		}
		if diff := eventsDiff(AsStored(e), g); diff != "" {
			t.Errorf("%s (-want +got):\n%s", e.Message, diff)
		}
		if len(g.Params) == 1 && g.Params[0].Value.Kind() != e.Params[0].Value.Kind() {
			t.Errorf("%s: kind %v, want %v", e.Message, g.Params[0].Value.Kind(), e.Params[0].Value.Kind())
		}
	}
	if len(got) != len(events) {
		t.Errorf("read %d events, want %d", len(got), len(events))
	}
}

func testMinimal(t *testing.T, s Store) {
	e := NewEvent("")
	e.Level = audit.LevelDebug
	write(t, s, e)
	checkAll(t, s, e)
}

func testNilAndEmptyParams(t *testing.T, s Store) {
	withNil := NewEvent("nil-params")
	withNil.Params = nil
	withEmpty := NewEvent("empty-params")
	withEmpty.Params = []audit.Param{}
	write(t, s, withNil, withEmpty)
	got := readAll(t, s, audit.Query{})
	if len(got) != 2 {
		t.Fatalf("read %d events, want 2", len(got))
	}
	for _, e := range got {
		if e.Params != nil {
			t.Errorf("%s: Params = %#v, want nil", e.Type, e.Params)
		}
	}
}

func testManyParams(t *testing.T, s Store) {
	e := manyParamsEvent()
	write(t, s, e)
	checkAll(t, s, e)
}

func testSampleEvents(t *testing.T, s Store) {
	events := Events()
	write(t, s, events...)
	checkAll(t, s, events...)
}

func testBadText(t *testing.T, s Store) {
	events := badTextEvents()
	write(t, s, events...)
	checkAll(t, s, events...)
	// Filters compare the original bytes, not their text form.
	for _, e := range events {
		for _, q := range []audit.Query{
			{Types: []string{e.Type}},
			{UserIDs: []string{e.UserID}},
			{SessionIDs: []string{e.SessionID}},
		} {
			got := readAll(t, s, q)
			if len(got) != 1 || got[0].ID != e.ID {
				t.Errorf("Read(%#v) returned %d events, want just %s", q, len(got), e.ID)
			}
		}
	}
}

func testTextCollisions(t *testing.T, s Store) {
	// Each pair has the same audit.Text form; a store must keep them apart.
	nul := at(0, "type\x00", audit.P("k\x00", "v\x00"), audit.P("k\u2400", "v\u2400"))
	nul.Message, nul.UserID, nul.SessionID = "m\x00", "u\x00", "s\x00"
	sym := at(time.Second, "type\u2400", audit.P("k\x00", "v\u2400"), audit.P("k\u2400", "v\x00"))
	sym.Message, sym.UserID, sym.SessionID = "m\u2400", "u\u2400", "s\u2400"
	bad := at(2*time.Second, "type\xff", audit.P("k\xff", "v\xff"), audit.P("k\ufffd", "v\ufffd"))
	bad.Message, bad.UserID, bad.SessionID = "m\xff", "u\xff", "s\xff"
	write(t, s, nul, sym, bad)
	checkAll(t, s, nul, sym, bad)
	for _, e := range []audit.Event{nul, sym, bad} {
		for _, q := range []audit.Query{
			{Types: []string{e.Type}},
			{UserIDs: []string{e.UserID}},
			{SessionIDs: []string{e.SessionID}},
		} {
			got := readAll(t, s, q)
			if len(got) != 1 || got[0].ID != e.ID {
				t.Errorf("Read(%#v) returned %d events, want just %s", q, len(got), e.ID)
			}
		}
	}
}

func testLarge(t *testing.T, s Store) {
	e := largeEvent()
	write(t, s, e)
	got := readAll(t, s, audit.Query{})
	if len(got) != 1 {
		t.Fatalf("read %d events, want 1", len(got))
	}
	// Compare without cmp: a diff of 1 MiB strings is unreadable.
	g := got[0]
	if g.Message != e.Message {
		t.Errorf("message: read %d bytes that differ from the %d written", len(g.Message), len(e.Message))
	}
	if v, _ := g.Param("big"); v.String() != e.Message || v.Kind() != audit.KindString {
		t.Errorf("param big: read %v of %d bytes, want the %d-byte string", v.Kind(), len(v.String()), len(e.Message))
	}
	if v, _ := g.Param("small"); v != audit.Int64Value(1) {
		t.Errorf("param small = %v, want 1", v)
	}
}

func testSQLish(t *testing.T, s Store) {
	events := sqlishEvents()
	write(t, s, events...)
	checkAll(t, s, events...)
	for _, e := range events {
		v, _ := e.Param("~object")
		ent, _ := v.Entity()
		for _, q := range []audit.Query{
			{Types: []string{e.Type}},
			{UserIDs: []string{e.UserID}},
			{SessionIDs: []string{e.SessionID}},
			{Object: &audit.Entity{ID: ent.ID}},
			{Object: &ent},
		} {
			got := readAll(t, s, q)
			if len(got) != 1 || got[0].ID != e.ID {
				t.Errorf("Read(%#v) returned %d events, want just %s", q, len(got), e.ID)
			}
		}
	}
}

// incompressible returns n bytes of text in which no run repeats: an xorshift
// sequence of letters and digits, the same on every call.
func incompressible(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	b := make([]byte, n)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range b {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = alphabet[x%uint64(len(alphabet))]
	}
	return string(b)
}

// testLongNames writes record types and param names far longer than a
// Postgres b-tree index row (about 2.7 kB): every store keeps them, tells
// apart two that differ only in their last byte, and filters on them.
func testLongNames(t *testing.T, s Store) {
	long := incompressible(16 << 10) // Postgres compresses a long index row
	e1 := at(0, long+"1", audit.String(long+"a", "v1"), audit.Int(long+"b", 2))
	e2 := at(time.Millisecond, long+"2", audit.String(long+"a", "v2"))
	e3 := at(2*time.Millisecond, long+"1", audit.String(long+"a", "v3"))
	write(t, s, e1, e2)
	write(t, s, e3)
	checkAll(t, s, e1, e2, e3)
	got := readAll(t, s, audit.Query{Types: []string{long + "1"}})
	if len(got) != 2 || got[0].ID != e3.ID || got[1].ID != e1.ID {
		t.Errorf("Read(Types: the long type 1) = %v, want %s, %s", ids(got), e3.ID, e1.ID)
	}
}
