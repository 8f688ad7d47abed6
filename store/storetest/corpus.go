package storetest

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/auditkit/audit"
	"github.com/auditkit/audit/datagrok"
)

// namedValue is a param value with a name for test output.
type namedValue struct {
	name  string
	value audit.Value
}

// paramValues returns values of every kind, with the edge cases of each.
func paramValues() []namedValue {
	nsTime := time.Date(2024, 5, 1, 12, 34, 56, 123456789, time.UTC)
	return []namedValue{
		{"null", audit.Value{}},
		{"string", audit.StringValue("hello, world")},
		{"string/empty", audit.StringValue("")},
		{"string/null-text", audit.StringValue("null")},
		{"string/number-text", audit.StringValue("42")},
		{"string/json-text", audit.StringValue(`{"a":1}`)},
		{"int64/zero", audit.Int64Value(0)},
		{"int64/negative", audit.Int64Value(-1)},
		{"int64/min", audit.Int64Value(math.MinInt64)},
		{"int64/max", audit.Int64Value(math.MaxInt64)},
		{"uint64/zero", audit.Uint64Value(0)},
		{"uint64/max", audit.Uint64Value(math.MaxUint64)},
		{"uint64/2^53+1", audit.Uint64Value(1<<53 + 1)},
		{"float64", audit.Float64Value(1.5)},
		{"float64/tenth", audit.Float64Value(0.1)},
		{"float64/zero", audit.Float64Value(0)},
		{"float64/negative-zero", audit.Float64Value(math.Copysign(0, -1))},
		{"float64/NaN", audit.Float64Value(math.NaN())},
		{"float64/+Inf", audit.Float64Value(math.Inf(1))},
		{"float64/-Inf", audit.Float64Value(math.Inf(-1))},
		{"float64/tiny", audit.Float64Value(math.SmallestNonzeroFloat64)},
		{"float64/huge", audit.Float64Value(math.MaxFloat64)},
		{"float64/integral", audit.Float64Value(1e21)},
		{"bool/true", audit.BoolValue(true)},
		{"bool/false", audit.BoolValue(false)},
		{"time/nanoseconds", audit.TimeValue(nsTime)},
		{"time/zone", audit.TimeValue(nsTime.In(time.FixedZone("UTC+5:30", 5*3600+1800)))},
		{"time/before-1970", audit.TimeValue(time.Date(1969, 7, 20, 20, 17, 40, 999999999, time.UTC))},
		{"time/year-0", audit.TimeValue(time.Date(0, 2, 29, 1, 2, 3, 4, time.UTC))},
		{"time/year-9999", audit.TimeValue(time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC))},
		{"time/year-10000", audit.TimeValue(time.Date(10000, 1, 1, 0, 0, 0, 1, time.UTC))},
		{"time/year-minus-1", audit.TimeValue(time.Date(-1, 12, 31, 23, 59, 59, 0, time.UTC))},
		{"time/year-minus-44", audit.TimeValue(time.Date(-44, 3, 15, 12, 0, 0, 0, time.FixedZone("Rome", 3600)))},
		{"time/year-292277026596", audit.TimeValue(time.Date(292277026596, 12, 4, 15, 30, 7, 999999999, time.UTC))},
		{"time/zero", audit.TimeValue(time.Time{})},
		{"duration/zero", audit.DurationValue(0)},
		{"duration/nanosecond", audit.DurationValue(time.Nanosecond)},
		{"duration", audit.DurationValue(1500*time.Millisecond + 7)},
		{"duration/negative", audit.DurationValue(-3 * time.Hour)},
		{"duration/max", audit.DurationValue(math.MaxInt64)},
		{"duration/min", audit.DurationValue(math.MinInt64)},
		{"entity", audit.EntityValue(audit.Ref("query", "q1"))},
		{"entity/no-kind", audit.EntityValue(audit.Ref("", "q1"))},
		{"entity/uuid", audit.EntityValue(audit.Ref("project", "0190a5e4-7b1c-7c2e-9f10-6d9a3b2c1e00"))},
		{"entity/uuid-no-kind", audit.EntityValue(audit.Ref("", "0190a5e4-7b1c-7c2e-9f10-6d9a3b2c1e01"))},
		{"entity/uuid-uppercase", audit.EntityValue(audit.Ref("project", "0190A5E4-7B1C-7C2E-9F10-6D9A3B2C1E02"))},
		{"entity/path-id", audit.EntityValue(audit.Ref("table", "db/public/Sales 2024"))},
		{"json/object", audit.JSONValue([]byte(`{"a":[1,2,{"b":null}],"c":"d"}`))},
		{"json/spacing-and-key-order", audit.JSONValue([]byte("{\"z\": 1,\n  \"a\" : [ true ]}"))},
		{"json/array", audit.JSONValue([]byte(`[]`))},
		{"json/string", audit.JSONValue([]byte(`"text"`))},
		{"json/null", audit.JSONValue([]byte(`null`))},
		{"json/big-number", audit.JSONValue([]byte(`123456789012345678901234567890`))},
		{"json/from-any", audit.AnyValue(map[string]any{"k": []int{1, 2}})},
		{"json/raw-message", audit.AnyValue(json.RawMessage(`{"x":"<&>"}`))},
	}
}

// levelTypes pairs each level with a record type for the field round trip.
func levelTypes() []struct {
	level audit.Level
	typ   string
} {
	return []struct {
		level audit.Level
		typ   string
	}{
		{audit.LevelDebug, audit.TypeLog},
		{audit.LevelInfo, audit.TypeHTTPRequest},
		{audit.LevelWarning, "custom-warning"},
		{audit.LevelError, audit.TypeError},
		{audit.LevelAudit, datagrok.QueryStart},
		{audit.LevelUsage, audit.TypeUsage},
	}
}

// badTexts returns strings that are not valid text: NUL bytes, invalid
// UTF-8, and valid text that looks like the [audit.Text] form of those.
func badTexts() []string {
	return []string{
		"nul\x00byte",
		"\x00",
		"\x00\x00leading and trailing\x00",
		"invalid \xff\xfe utf-8",
		"\xff",
		"truncated rune \xe2\x82",
		"overlong \xc0\xaf and surrogate \xed\xa0\x80",
		"mixed \x00 and \xc3\x28, é ok",
		"looks replaced: \u2400 and \ufffd",
	}
}

// sqlishNames returns strings that break naive SQL, LIKE patterns or
// escaping; all are valid text.
func sqlishNames() []string {
	return []string{
		`'; DROP TABLE events; --`,
		`Robert'); DROP TABLE students;--`,
		`"double" 'single' ` + "`back`",
		`back\slash \\ \' \"`,
		`%_like wildcards_%`,
		`$1 ? :name @p1 %s`,
		`ünïcødé 日本語 Ελληνικά`,
		"emoji 🎉 👩‍💻 🇺🇦",
		"tab\tnewline\ncarriage\r",
		" padded ",
		"null",
		"NULL",
		"E'\\x00'",
		"\u200b zero width \ufeff bom",
	}
}

// kindEvents returns one event per kind case, holding it as param "v".
func kindEvents() []audit.Event {
	values := paramValues()
	events := make([]audit.Event, len(values))
	for i, v := range values {
		events[i] = at(time.Duration(i)*time.Millisecond, "kind-test", audit.Param{Key: "v", Value: v.value})
		events[i].Message = v.name
	}
	return events
}

// fieldEvents returns one event per level with every field set.
func fieldEvents() []audit.Event {
	var events []audit.Event
	for i, lt := range levelTypes() {
		e := at(time.Duration(i)*time.Second+123456*time.Microsecond, lt.typ,
			audit.P("query", audit.Ref("query", "q1")),
			audit.P("rows", 42),
			audit.P("sql", "select 1"),
		)
		e.Level = lt.level
		e.Message = fmt.Sprintf("%s event", lt.level)
		e.StackTrace = "goroutine 1 [running]:\nmain.main()\n\t/app/main.go:12 +0x1d\n"
		e.Fingerprint = "9f86d081884c7d659a2feaa0c55ad015"
		e.SessionID = "session-1"
		e.UserID = "user-1"
		e.Duration = 1234567891 * time.Nanosecond
		events = append(events, e)
	}
	return events
}

// badTextEvents returns one event per bad text, with the text in every
// string field, as a param key and as a string param value.
func badTextEvents() []audit.Event {
	var events []audit.Event
	for i, s := range badTexts() {
		e := at(time.Duration(i)*time.Second, s,
			audit.Param{Key: s, Value: audit.StringValue("key test")},
			audit.Param{Key: "value", Value: audit.StringValue(s)},
		)
		e.Message, e.StackTrace, e.UserID, e.SessionID = s, s, s, s
		events = append(events, e)
	}
	return events
}

// sqlishEvents returns one event per SQL-ish name, with the name in every
// string field, as a param key and value, and as an entity kind and id.
func sqlishEvents() []audit.Event {
	var events []audit.Event
	for i, s := range sqlishNames() {
		e := at(time.Duration(i)*time.Second, s,
			audit.Param{Key: s, Value: audit.StringValue(s)},
			audit.P("~object", audit.Ref(s, s)),
		)
		e.Message, e.StackTrace, e.Fingerprint, e.UserID, e.SessionID = s, s, s, s, s
		events = append(events, e)
	}
	return events
}

// largeEvent returns an event with a 1 MiB message and a 1 MiB param value.
func largeEvent() audit.Event {
	const mib = 1 << 20
	chunk := "0123456789abcdef ünïcødé 🎉\n" // 32 bytes
	big := strings.Repeat(chunk, mib/len(chunk))
	e := at(0, "large", audit.P("big", big), audit.P("small", 1))
	e.Message = big
	return e
}

// manyParamsEvent returns an event with 200 params of mixed kinds.
func manyParamsEvent() audit.Event {
	values := paramValues()
	params := make([]audit.Param, 200)
	for i := range params {
		params[i] = audit.Param{Key: fmt.Sprintf("p%03d", i), Value: values[i%len(values)].value}
	}
	return at(0, "many-params", params...)
}

// Events returns a new set of valid events that together hold every field,
// every level, every param kind with its edge cases, strings with NUL bytes
// and invalid UTF-8, SQL-ish names, 200 params on one event, a 1 MiB message,
// and an event with nothing but ID, Time and Level. IDs are new UUIDv7s;
// times are fixed, distinct and at microsecond precision. Stores, sinks and
// codecs use it for round-trip tests.
func Events() []audit.Event {
	var events []audit.Event
	add := func(offset time.Duration, es ...audit.Event) {
		for _, e := range es {
			e.Time = e.Time.Add(offset)
			events = append(events, e)
		}
	}
	add(0, fieldEvents()...)
	add(time.Hour, kindEvents()...)
	add(2*time.Hour, badTextEvents()...)
	add(3*time.Hour, sqlishEvents()...)
	add(4*time.Hour, manyParamsEvent(), largeEvent())
	minimal := at(5*time.Hour, "")
	minimal.Params = nil
	add(0, minimal)
	return events
}
