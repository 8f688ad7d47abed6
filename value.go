package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/auditkit/audit/internal/codec"
)

// Kind is the kind of a param [Value]. Every store round-trips every kind.
type Kind uint8

// The kinds of param values. The zero Value is KindNull.
const (
	KindNull Kind = iota
	KindString
	KindInt64
	KindUint64
	KindFloat64
	KindBool
	KindTime
	KindDuration
	KindEntity
	// KindJSON holds a composite value (slice, map, struct, pointer) encoded
	// as JSON when the event was logged, so later changes by the caller do not
	// affect the event.
	KindJSON
)

// String returns the kind's name as stored by the SQL stores: "null", "string",
// "int64", "uint64", "float64", "bool", "time", "duration", "entity_id"
// (object references) and "json".
func (k Kind) String() string {
	if int(k) < len(codec.KindNames) {
		return codec.KindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Entity names an object (a query, a table, a project...) that an event acts
// on. A param whose value is an Entity is an object reference: the stores index
// it so that every event naming the object is found by one lookup.
type Entity struct {
	// Kind is the optional kind of object ("query", "project", ...).
	Kind string `json:"kind"`
	// ID identifies the object. It need not be a UUID.
	ID string `json:"id"`
}

// Ref returns the Entity of the given kind and id.
func Ref(kind, id string) Entity { return Entity{Kind: kind, ID: id} }

// String returns "kind:id", or the id alone when the kind is empty.
func (e Entity) String() string {
	if e.Kind == "" {
		return e.ID
	}
	return e.Kind + ":" + e.ID
}

// Value is a param value, immutable once made. It holds scalars without
// allocating; composite values are snapshotted as JSON. Build one with the
// typed constructors or [AnyValue].
type Value struct {
	kind Kind
	num  uint64 // int64, uint64, float64 bits, bool, duration, time (unix ns) payloads
	str  string // string, JSON text, entity ID, time location marker
	aux  string // entity kind
}

// StringValue returns a string Value. The string is kept byte for byte, even
// when it is not valid UTF-8 or contains NUL bytes; see [Text] for how such
// strings are made into valid text at the boundaries that need it.
func StringValue(s string) Value { return Value{kind: KindString, str: s} }

// Int64Value returns an int64 Value.
func Int64Value(n int64) Value { return Value{kind: KindInt64, num: uint64(n)} }

// Uint64Value returns a uint64 Value.
func Uint64Value(n uint64) Value { return Value{kind: KindUint64, num: n} }

// Float64Value returns a float64 Value. Infinities and -0 are kept; every NaN
// becomes the canonical [math.NaN], so a NaN survives a trip through text.
func Float64Value(f float64) Value {
	if f != f {
		f = math.NaN()
	}
	return Value{kind: KindFloat64, num: math.Float64bits(f)}
}

// BoolValue returns a bool Value.
func BoolValue(b bool) Value {
	var n uint64
	if b {
		n = 1
	}
	return Value{kind: KindBool, num: n}
}

// TimeValue returns a time Value, converted to UTC. Monotonic clock readings
// are dropped; nanoseconds are kept, for any year (including the zero time).
func TimeValue(t time.Time) Value {
	if y := t.Year(); y > 1678 && y < 2262 {
		return Value{kind: KindTime, num: uint64(t.UnixNano())}
	}
	// Outside the range of int64 nanoseconds: keep the text instead.
	return Value{kind: KindTime, str: formatTime(t)}
}

// formatTime returns t in UTC as RFC 3339 with nanoseconds. A year outside
// 0-9999, which RFC 3339 cannot write, is written as ISO 8601's expanded
// year: a sign and at least six digits (+010000-01-01T00:00:00Z), which
// the stores read back.
func formatTime(t time.Time) string {
	t = t.UTC()
	y := t.Year()
	if y >= 0 && y <= 9999 {
		return t.Format(time.RFC3339Nano)
	}
	sign := "+"
	if y < 0 {
		sign, y = "-", -y
	}
	// The rest of the time, in a leap year so that February 29 exists.
	rest := time.Date(2000, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
	return fmt.Sprintf("%s%06d%s", sign, y, rest.Format(time.RFC3339Nano)[4:])
}

// DurationValue returns a duration Value.
func DurationValue(d time.Duration) Value { return Value{kind: KindDuration, num: uint64(d)} }

// EntityValue returns a Value that references an object.
func EntityValue(e Entity) Value { return Value{kind: KindEntity, str: e.ID, aux: e.Kind} }

// JSONValue returns a Value holding the given JSON text. Invalid JSON is kept
// as a string Value instead, so nothing is lost. Valid JSON may still hold
// invalid UTF-8 inside its strings: stores apply the [Text] rule to JSON
// values as they do to strings.
func JSONValue(raw []byte) Value {
	if !json.Valid(raw) {
		return StringValue(string(raw))
	}
	return Value{kind: KindJSON, str: string(raw)}
}

// AnyValue converts v to a Value:
//   - nil and nil pointers, maps, slices become null;
//   - strings, bools, all integer and float types, [time.Time],
//     [time.Duration] and [Entity] map to their kinds;
//   - a Value is returned as is; [json.RawMessage] becomes JSON;
//   - an error becomes its message (a string);
//   - a [fmt.Stringer] that is not a [json.Marshaler] becomes its String();
//   - anything else (slices, maps, structs, pointers) is encoded as JSON now,
//     so the caller may change it afterwards;
//   - values that cannot be encoded (funcs, channels, cyclic structures,
//     unsupported map keys) become a descriptive string such as
//     "!ERROR: json: unsupported type: func()", and panics in
//     MarshalJSON or String methods are caught the same way.
func AnyValue(v any) Value {
	switch x := v.(type) {
	case nil:
		return Value{}
	case string:
		return StringValue(x)
	case bool:
		return BoolValue(x)
	case int:
		return Int64Value(int64(x))
	case int64:
		return Int64Value(x)
	case int32:
		return Int64Value(int64(x))
	case int16:
		return Int64Value(int64(x))
	case int8:
		return Int64Value(int64(x))
	case uint:
		return Uint64Value(uint64(x))
	case uint64:
		return Uint64Value(x)
	case uint32:
		return Uint64Value(uint64(x))
	case uint16:
		return Uint64Value(uint64(x))
	case uint8:
		return Uint64Value(uint64(x))
	case uintptr:
		return Uint64Value(uint64(x))
	case float64:
		return Float64Value(x)
	case float32:
		return Float64Value(float64(x))
	case time.Time:
		return TimeValue(x)
	case time.Duration:
		return DurationValue(x)
	case Entity:
		return EntityValue(x)
	case *Entity:
		if x == nil {
			return Value{}
		}
		return EntityValue(*x)
	case Value:
		return x
	case json.RawMessage:
		return JSONValue(x)
	case error:
		return safeString(func() string { return x.Error() })
	}
	return anyComposite(v)
}

func anyComposite(v any) Value {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
		if rv.IsNil() {
			return Value{}
		}
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return StringValue(fmt.Sprintf("!ERROR: cannot encode %s", rv.Type()))
	}
	if _, isMarshaler := v.(json.Marshaler); !isMarshaler {
		if s, ok := v.(fmt.Stringer); ok {
			return safeString(s.String)
		}
	}
	raw, err := marshalJSON(v)
	if err != nil {
		return StringValue("!ERROR: " + err.Error())
	}
	return Value{kind: KindJSON, str: string(raw)}
}

func marshalJSON(v any) (raw []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while encoding %T: %v", v, r)
		}
	}()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func safeString(f func() string) (v Value) {
	defer func() {
		if r := recover(); r != nil {
			v = StringValue(fmt.Sprintf("!ERROR: panic in String/Error: %v", r))
		}
	}()
	return StringValue(f())
}

// Kind returns the kind of v.
func (v Value) Kind() Kind { return v.kind }

// String returns v as the text the SQL stores put in
// event_parameter_values.value: null is "null", numbers and booleans are
// their decimal text (so value::int works), times are RFC 3339 with
// nanoseconds in UTC, durations are Go duration strings, entities are their
// ID and JSON is its text. A string is returned unchanged, whatever its bytes.
func (v Value) String() string {
	switch v.kind {
	case KindNull:
		return "null"
	case KindString, KindJSON, KindEntity:
		return v.str
	case KindInt64:
		return strconv.FormatInt(int64(v.num), 10)
	case KindUint64:
		return strconv.FormatUint(v.num, 10)
	case KindFloat64:
		return strconv.FormatFloat(math.Float64frombits(v.num), 'g', -1, 64)
	case KindBool:
		return strconv.FormatBool(v.num == 1)
	case KindTime:
		return formatTime(v.Time())
	case KindDuration:
		return time.Duration(v.num).String()
	}
	return "!BADKIND"
}

// Int64 returns the value of an int64 Value; it is 0 for other kinds.
func (v Value) Int64() int64 {
	if v.kind == KindInt64 {
		return int64(v.num)
	}
	return 0
}

// Uint64 returns the value of a uint64 Value; it is 0 for other kinds.
func (v Value) Uint64() uint64 {
	if v.kind == KindUint64 {
		return v.num
	}
	return 0
}

// Float64 returns the value of a float64 Value; it is 0 for other kinds.
func (v Value) Float64() float64 {
	if v.kind == KindFloat64 {
		return math.Float64frombits(v.num)
	}
	return 0
}

// Bool returns the value of a bool Value; it is false for other kinds.
func (v Value) Bool() bool { return v.kind == KindBool && v.num == 1 }

// Time returns the value of a time Value, in UTC; the zero time for other kinds.
func (v Value) Time() time.Time {
	if v.kind != KindTime {
		return time.Time{}
	}
	if v.str != "" {
		t, _ := parseTime(v.str)
		return t
	}
	return time.Unix(0, int64(v.num)).UTC()
}

// Duration returns the value of a duration Value; 0 for other kinds.
func (v Value) Duration() time.Duration {
	if v.kind == KindDuration {
		return time.Duration(v.num)
	}
	return 0
}

// Entity returns the object a KindEntity Value references, and whether v is one.
func (v Value) Entity() (Entity, bool) {
	if v.kind == KindEntity {
		return Entity{Kind: v.aux, ID: v.str}, true
	}
	return Entity{}, false
}

// JSON returns the JSON text of a KindJSON Value, or nil for other kinds.
func (v Value) JSON() json.RawMessage {
	if v.kind == KindJSON {
		return json.RawMessage(v.str)
	}
	return nil
}

// Any returns v as a Go value: nil, string, int64, uint64, float64, bool,
// time.Time, time.Duration, Entity or json.RawMessage.
func (v Value) Any() any {
	switch v.kind {
	case KindString:
		return v.str
	case KindInt64:
		return int64(v.num)
	case KindUint64:
		return v.num
	case KindFloat64:
		return v.Float64()
	case KindBool:
		return v.Bool()
	case KindTime:
		return v.Time()
	case KindDuration:
		return v.Duration()
	case KindEntity:
		e, _ := v.Entity()
		return e
	case KindJSON:
		return v.JSON()
	}
	return nil
}

func init() {
	codec.ParseValue = func(kind uint8, text, entityKind string) (any, error) {
		return parseValue(Kind(kind), text, entityKind)
	}
}

// parseValue rebuilds a Value from its kind and the text [Value.String]
// produced (entities also need their kind, given as entityKind). The SQL
// stores read params back with it, through package internal/codec.
func parseValue(kind Kind, text, entityKind string) (Value, error) {
	switch kind {
	case KindNull:
		return Value{}, nil
	case KindString:
		return StringValue(text), nil
	case KindJSON:
		if !json.Valid([]byte(text)) {
			return StringValue(text), fmt.Errorf("audit: param of kind json holds invalid JSON")
		}
		return Value{kind: KindJSON, str: text}, nil
	case KindEntity:
		return EntityValue(Entity{Kind: entityKind, ID: text}), nil
	case KindInt64:
		n, err := strconv.ParseInt(text, 10, 64)
		return Int64Value(n), err
	case KindUint64:
		n, err := strconv.ParseUint(text, 10, 64)
		return Uint64Value(n), err
	case KindFloat64:
		f, err := strconv.ParseFloat(text, 64)
		return Float64Value(f), err
	case KindBool:
		b, err := strconv.ParseBool(text)
		return BoolValue(b), err
	case KindTime:
		t, err := parseTime(text)
		return TimeValue(t), err
	case KindDuration:
		d, err := time.ParseDuration(text)
		return DurationValue(d), err
	}
	return Value{}, fmt.Errorf("audit: unknown param kind %d", kind)
}

// MarshalJSON encodes v as its natural JSON: null, a string, a number, a
// boolean, an RFC 3339 string for times, a duration string, {"kind","id"} for
// entities, and the JSON itself for KindJSON. Integers beyond 2^53 are exact in
// the output. NaN and infinities, which JSON lacks, are written as strings.
func (v Value) MarshalJSON() ([]byte, error) {
	switch v.kind {
	case KindNull:
		return []byte("null"), nil
	case KindInt64, KindUint64, KindBool:
		return []byte(v.String()), nil
	case KindFloat64:
		f := v.Float64()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return json.Marshal(v.String())
		}
		return []byte(v.String()), nil
	case KindJSON:
		return []byte(v.str), nil
	case KindEntity:
		return json.Marshal(struct {
			Kind string `json:"kind,omitempty"`
			ID   string `json:"id"`
		}{v.aux, v.str})
	}
	return json.Marshal(v.String())
}

// Param is one named param of an event.
type Param struct {
	Key   string
	Value Value
}
